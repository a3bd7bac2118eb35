package api

import (
	"encoding/json"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// The maintenance records (policies, forget and check results, job
// status) as API v1 bodies, and the policies a client sends as the
// repository applies them.

func policyToWire(p repo.Policy) apiv1.Policy {
	return apiv1.Policy{
		Match: apiv1.Match(p.Match), KeepLast: p.KeepLast, KeepHourly: p.KeepHourly, KeepDaily: p.KeepDaily,
		KeepWeekly: p.KeepWeekly, KeepMonthly: p.KeepMonthly, KeepYearly: p.KeepYearly, KeepWithin: p.KeepWithin,
	}
}

func policyFromWire(p apiv1.Policy) repo.Policy {
	return repo.Policy{
		Match: repo.Match(p.Match), KeepLast: p.KeepLast, KeepHourly: p.KeepHourly, KeepDaily: p.KeepDaily,
		KeepWeekly: p.KeepWeekly, KeepMonthly: p.KeepMonthly, KeepYearly: p.KeepYearly, KeepWithin: p.KeepWithin,
	}
}

func forgetFromWire(req apiv1.ForgetRequest) repo.ForgetRequest {
	out := repo.ForgetRequest{Host: req.Host, VM: req.VM, DryRun: req.DryRun}
	if req.Policy != nil {
		p := policyFromWire(*req.Policy)
		out.Policy = &p
	}
	return out
}

func forgetResultToWire(res repo.ForgetResult) apiv1.ForgetResult {
	decision := func(d repo.Decision) apiv1.Decision { return apiv1.Decision(d) }
	return apiv1.ForgetResult{Keep: wireSlice(res.Keep, decision), Remove: wireSlice(res.Remove, decision), DryRun: res.DryRun}
}

func checkResultToWire(res repo.CheckResult) apiv1.CheckResult {
	return apiv1.CheckResult{
		OK:       res.OK,
		Damaged:  wireSlice(res.Damaged, func(d repo.DamagedDisk) apiv1.DamagedDisk { return apiv1.DamagedDisk(d) }),
		Problems: res.Problems, UnlistedManifests: res.UnlistedManifests, MissingManifests: res.MissingManifests,
		Snapshots: res.Snapshots, Disks: res.Disks, Chunks: res.Chunks, Packs: res.Packs, PacksRead: res.PacksRead,
	}
}

// RebuildResult gives the result of an index rebuild as the answer to
// POST /api/v1/repair/index.
func RebuildResult(st repo.RebuildStats) apiv1.RepairResult {
	return apiv1.RepairResult{
		Packs: st.Packs, Chunks: st.Chunks, PackBytes: st.PackBytes, Snapshots: st.Snapshots,
		Protected: st.Protected, Tokens: st.Tokens, Policies: st.Policies, Jobs: st.Jobs, Seconds: st.Seconds,
		Skipped: wireSlice(st.Skipped, func(o repo.SkippedObject) apiv1.SkippedObject { return apiv1.SkippedObject(o) }),
	}
}

func jobsToWire(list []repo.JobStatus) []apiv1.Job {
	return wireSlice(list, func(j repo.JobStatus) apiv1.Job {
		out := apiv1.Job{
			Name: j.Name, Running: j.Running, Interval: j.Interval, LastStart: j.LastStart, LastEnd: j.LastEnd,
			LastError: j.LastError, Seconds: j.Seconds, BytesFreed: j.BytesFreed, Runs: j.Runs,
		}
		var result any
		switch v := j.LastResult.(type) {
		case nil:
		case repo.PruneResult:
			result = apiv1.PruneResult(v)
		case repo.CheckResult:
			result = checkResultToWire(v)
		default:
			result = v
		}
		if result != nil {
			out.LastResult, _ = json.Marshal(result) // results of plain fields always encode
		}
		return out
	})
}
