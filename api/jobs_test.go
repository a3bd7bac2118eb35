package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// getJSON GETs path as tok and decodes the answer into out; it returns
// the status and the error code of a failure.
func getJSON(t *testing.T, s *testserver.Server, tok, path string, out any) (int, apiv1.Code) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var eb apiv1.ErrorBody
		_ = json.Unmarshal(data, &eb)
		return resp.StatusCode, eb.Error.Code
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, data)
	}
	return resp.StatusCode, ""
}

func jobList(t *testing.T, s *testserver.Server, query string) []apiv1.JobRecord {
	t.Helper()
	var list apiv1.JobList
	if st, code := getJSON(t, s, s.AdminToken, "/api/v1/jobs"+query, &list); st != 200 {
		t.Fatalf("GET /api/v1/jobs%s: %d %s", query, st, code)
	}
	return list.Jobs
}

func jobDetail(t *testing.T, s *testserver.Server, id string) apiv1.JobDetail {
	t.Helper()
	var d apiv1.JobDetail
	if st, code := getJSON(t, s, s.AdminToken, "/api/v1/jobs/"+id, &d); st != 200 {
		t.Fatalf("GET /api/v1/jobs/%s: %d %s", id, st, code)
	}
	return d
}

// jobOfSession finds the backup job of a session.
func jobOfSession(t *testing.T, s *testserver.Server, session string) apiv1.JobRecord {
	t.Helper()
	for _, j := range jobList(t, s, "?kind=backup&limit=1000") {
		if j.SessionID == session {
			return j
		}
	}
	t.Fatalf("no backup job of session %s", session)
	return apiv1.JobRecord{}
}

func logHas(d apiv1.JobDetail, msg string) bool {
	for _, l := range d.Log {
		if strings.HasPrefix(l.Msg, msg) {
			return true
		}
	}
	return false
}

// TestJobHistoryBackups: every way a backup ends is a job with its
// result, bytes, error and its own log lines: completed, aborted, expired,
// failed (a bad image, then aborted), and the schedule it names.
func TestJobHistoryBackups(t *testing.T) {
	clk := &leaseClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	const lease = time.Minute
	s := testserver.Start(t, testserver.Options{Now: clk.now, Lease: lease})
	ctx := context.Background()
	c := s.Client("")

	t.Run("success", func(t *testing.T) {
		data := mixed(31, 3<<20)
		rc := backup(t, s, "HV01", "SQL01", writeDisk(t, t.TempDir(), "d.raw", data))
		j := jobOfSession(t, s, rc.Session)
		if j.Result != apiv1.JobSuccess || j.Kind != apiv1.JobBackup || j.Trigger != apiv1.TriggerManual || j.SnapshotID != rc.Snapshot ||
			j.Host != "HV01" || j.VM != "SQL01" || j.Error != "" || j.End.IsZero() || j.Progress != nil {
			t.Fatalf("job of a completed backup: %+v", j)
		}
		if j.Bytes != rc.Disks[0].StreamBytes || j.NewBytes != rc.Disks[0].NewBytes || j.Bytes != int64(len(data)) {
			t.Fatalf("job bytes %d new %d, the receipt says %d new %d", j.Bytes, j.NewBytes, rc.Disks[0].StreamBytes, rc.Disks[0].NewBytes)
		}
		d := jobDetail(t, s, j.ID)
		for _, msg := range []string{"session opened", "disk received", "session completed"} {
			if !logHas(d, msg) {
				t.Errorf("the job's log has no %q line: %+v", msg, d.Log)
			}
		}
	})
	t.Run("aborted", func(t *testing.T) {
		id := openSession(t, s, "HV01", "SQL02")
		if err := c.Abort(ctx, id); err != nil {
			t.Fatal(err)
		}
		j := jobOfSession(t, s, id)
		if j.Result != apiv1.JobAborted || j.Error != "" || j.End.IsZero() || j.SnapshotID != "" {
			t.Fatalf("job of an aborted session: %+v", j)
		}
		if !logHas(jobDetail(t, s, j.ID), "session aborted") {
			t.Error("no abort in the job's log")
		}
	})
	t.Run("expired", func(t *testing.T) {
		id := openSession(t, s, "HV01", "SQL03")
		clk.advance(2 * lease)
		s.Repo.ExpireSessions() // unless the janitor came first
		j := jobOfSession(t, s, id)
		if j.Result != apiv1.JobFailed || !strings.Contains(j.Error, "expired") || j.End.IsZero() {
			t.Fatalf("job of an expired session: %+v", j)
		}
	})
	t.Run("bad image", func(t *testing.T) {
		id := openSession(t, s, "HV01", "SQL04")
		st, code := call(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/d.vhd?format=vhd", s.AdminToken, bytes.NewReader(random(1<<20)))
		if st != 400 {
			t.Fatalf("bad image: %d %s", st, code)
		}
		running := jobOfSession(t, s, id)
		if running.Result != apiv1.JobRunning || !strings.Contains(running.Error, "d.vhd") || running.Progress == nil ||
			running.Progress.BytesDone <= 0 || running.Bytes != running.Progress.BytesDone {
			t.Fatalf("job of a session whose upload failed, still open: %+v", running)
		}
		if err := c.Abort(ctx, id); err != nil {
			t.Fatal(err)
		}
		j := jobOfSession(t, s, id)
		if j.Result != apiv1.JobFailed || !strings.Contains(j.Error, "d.vhd") || !strings.Contains(j.Error, "aborted") {
			t.Fatalf("job of a session aborted after a bad image: %+v", j)
		}
		if !logHas(jobDetail(t, s, j.ID), "disk upload failed") {
			t.Error("no upload failure in the job's log")
		}
	})
	t.Run("schedule", func(t *testing.T) {
		var sess apiv1.Session
		req := apiv1.SessionRequest{Host: "HV01", VM: "SQL05", Schedule: "nightly"}
		if err := c.DoJSON(ctx, "POST", "/api/v1/sessions", req, &sess); err != nil {
			t.Fatal(err)
		}
		j := jobOfSession(t, s, sess.ID)
		if j.Trigger != apiv1.TriggerSchedule || j.Schedule != "nightly" || j.Result != apiv1.JobRunning || j.End != (time.Time{}) {
			t.Fatalf("job of a scheduled backup: %+v", j)
		}
		bad := apiv1.SessionRequest{Host: "HV01", VM: "SQL06", Schedule: "a/b"}
		if err := c.DoJSON(ctx, "POST", "/api/v1/sessions", bad, &sess); err == nil || !strings.Contains(err.Error(), "BAD_NAME") {
			t.Fatalf("a schedule name with a slash: %v, want BAD_NAME", err)
		}
	})
	if st, code := getJSON(t, s, s.AdminToken, "/api/v1/jobs/18ed478ad4140d0e253c30b9eb11ea7d", &apiv1.JobDetail{}); st != 404 || code != apiv1.CodeJobNotFound {
		t.Fatalf("unknown job: %d %s", st, code)
	}
}

// TestJobHistoryMaintenance: prune, check, forget (by policy and of one
// snapshot) and repair are jobs, asked for over the API.
func TestJobHistoryMaintenance(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	dir := t.TempDir()
	a := backup(t, s, "HV01", "VM1", writeDisk(t, dir, "a.raw", random(2<<20)))
	b := backup(t, s, "HV01", "VM2", writeDisk(t, dir, "b.raw", random(2<<20)))
	backup(t, s, "HV01", "VM2", writeDisk(t, dir, "c.raw", random(1<<20)))
	c := s.Client("")
	if st, _ := call(t, s, "DELETE", "/api/v1/snapshots/"+a.Snapshot, s.AdminToken, nil); st != 200 {
		t.Fatalf("forget: %d", st)
	}
	var fr apiv1.ForgetResult
	if err := c.DoJSON(ctx, "POST", "/api/v1/forget", apiv1.ForgetRequest{VM: "VM2", Policy: &apiv1.Policy{KeepLast: 1}}, &fr); err != nil || len(fr.Remove) != 1 {
		t.Fatalf("forget by policy: %+v %v", fr, err)
	}
	if err := c.DoJSON(ctx, "POST", "/api/v1/forget", apiv1.ForgetRequest{DryRun: true, Policy: &apiv1.Policy{KeepLast: 1}}, &fr); err != nil {
		t.Fatal(err)
	}
	var pr apiv1.PruneResult
	if err := c.DoJSON(ctx, "POST", "/api/v1/prune", apiv1.PruneRequest{Grace: "1ns"}, &pr); err != nil || pr.BytesFreed <= 0 {
		t.Fatalf("prune: %+v %v", pr, err)
	}
	var cr apiv1.CheckResponse
	if err := c.DoJSON(ctx, "POST", "/api/v1/check", apiv1.CheckRequest{ReadDataPercent: 100}, &cr); err != nil || !cr.OK {
		t.Fatalf("check: %+v %v", cr, err)
	}
	var rr apiv1.RepairResult
	if err := c.DoJSON(ctx, "POST", "/api/v1/repair/index", nil, &rr); err != nil {
		t.Fatal(err)
	}
	byKind := map[apiv1.JobKind][]apiv1.JobRecord{}
	for _, j := range jobList(t, s, "") {
		if j.Kind != apiv1.JobBackup && (j.Result != apiv1.JobSuccess || j.Trigger != apiv1.TriggerAPI || j.End.Before(j.Start)) {
			t.Errorf("maintenance job %+v, want a success asked for over the API", j)
		}
		byKind[j.Kind] = append(byKind[j.Kind], j)
	}
	if n := len(byKind[apiv1.JobForget]); n != 2 {
		t.Fatalf("%d forget jobs, want 2 (a dry run is none): %+v", n, byKind[apiv1.JobForget])
	}
	one, policy := byKind[apiv1.JobForget][1], byKind[apiv1.JobForget][0] // newest first
	if one.SnapshotID != a.Snapshot || one.VM != "VM1" || policy.VM != "VM2" || !logHas(jobDetail(t, s, policy.ID), "snapshot forgotten snapshot="+b.Snapshot) {
		t.Fatalf("forget jobs: %+v, %+v", one, policy)
	}
	if p := byKind[apiv1.JobPrune]; len(p) != 1 || p[0].Bytes != pr.BytesFreed || !logHas(jobDetail(t, s, p[0].ID), "prune done") {
		t.Fatalf("prune jobs %+v, want one that freed %d", p, pr.BytesFreed)
	}
	if k := byKind[apiv1.JobCheck]; len(k) != 1 || !logHas(jobDetail(t, s, k[0].ID), "check done ok=true") {
		t.Fatalf("check jobs %+v", k)
	}
	if k := byKind[apiv1.JobRepair]; len(k) != 1 || !logHas(jobDetail(t, s, k[0].ID), "index rebuilt") {
		t.Fatalf("repair jobs %+v", k)
	}
}

// TestJobFilters: each filter, and combinations, answer exactly the jobs
// of the whole history that match, newest first; bad values are 400
// BAD_REQUEST.
func TestJobFilters(t *testing.T) {
	clk := &leaseClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s := testserver.Start(t, testserver.Options{Now: clk.now})
	dir := t.TempDir()
	ctx := context.Background()
	var marks []time.Time
	for i, hv := range []struct{ host, vm string }{{"HV01", "SQL01"}, {"HV01", "EX01"}, {"HV02", "SQL02"}, {"HV02", "SQL01"}} {
		marks = append(marks, clk.now())
		backup(t, s, hv.host, hv.vm, writeDisk(t, dir, fmt.Sprintf("d%d.raw", i), random(200<<10)))
		id := openSession(t, s, hv.host, hv.vm)
		if err := s.Client("").Abort(ctx, id); err != nil {
			t.Fatal(err)
		}
		clk.advance(time.Hour)
	}
	var pr apiv1.PruneResult
	if err := s.Client("").DoJSON(ctx, "POST", "/api/v1/prune", apiv1.PruneRequest{}, &pr); err != nil {
		t.Fatal(err)
	}
	all := jobList(t, s, "?limit=1000")
	if len(all) != 9 {
		t.Fatalf("%d jobs, want 9", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID || all[i].Start.After(all[i-1].Start) {
			t.Fatalf("jobs not newest first: %s then %s", all[i-1].ID, all[i].ID)
		}
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	for _, f := range []struct {
		query string
		match func(j apiv1.JobRecord) bool
	}{
		{"kind=backup", func(j apiv1.JobRecord) bool { return j.Kind == apiv1.JobBackup }},
		{"kind=prune", func(j apiv1.JobRecord) bool { return j.Kind == apiv1.JobPrune }},
		{"kind=check", func(j apiv1.JobRecord) bool { return false }},
		{"host=HV01", func(j apiv1.JobRecord) bool { return j.Host == "HV01" }},
		{"host=HV*", func(j apiv1.JobRecord) bool { return j.Host != "" }},
		{"vm=SQL01", func(j apiv1.JobRecord) bool { return j.VM == "SQL01" }},
		{"vm=SQL*", func(j apiv1.JobRecord) bool { return strings.HasPrefix(j.VM, "SQL") }},
		{"result=aborted", func(j apiv1.JobRecord) bool { return j.Result == apiv1.JobAborted }},
		{"result=success", func(j apiv1.JobRecord) bool { return j.Result == apiv1.JobSuccess }},
		{"result=running", func(j apiv1.JobRecord) bool { return false }},
		{"since=" + rfc(marks[2]), func(j apiv1.JobRecord) bool { return !j.Start.Before(marks[2]) }},
		{"until=" + rfc(marks[2]), func(j apiv1.JobRecord) bool { return j.Start.Before(marks[2]) }},
		{"since=" + rfc(marks[1]) + "&until=" + rfc(marks[3]), func(j apiv1.JobRecord) bool {
			return !j.Start.Before(marks[1]) && j.Start.Before(marks[3])
		}},
		{"host=HV02&vm=SQL01&result=success", func(j apiv1.JobRecord) bool {
			return j.Host == "HV02" && j.VM == "SQL01" && j.Result == apiv1.JobSuccess
		}},
		{"kind=backup&host=HV01&since=" + rfc(marks[1]), func(j apiv1.JobRecord) bool {
			return j.Kind == apiv1.JobBackup && j.Host == "HV01" && !j.Start.Before(marks[1])
		}},
	} {
		var want []string
		for _, j := range all {
			if f.match(j) {
				want = append(want, j.ID)
			}
		}
		var got []string
		for _, j := range jobList(t, s, "?"+f.query) {
			got = append(got, j.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("?%s: %v, want %v", f.query, got, want)
		}
	}
	for _, n := range []int{1, 3, 9} {
		got := jobList(t, s, fmt.Sprintf("?limit=%d", n))
		if len(got) != n || got[0].ID != all[0].ID || got[n-1].ID != all[n-1].ID {
			t.Errorf("limit=%d: %d jobs, want the %d newest", n, len(got), n)
		}
	}
	if got := jobList(t, s, "?kind=backup&limit=2"); len(got) != 2 || got[0].Kind != apiv1.JobBackup || got[1].Kind != apiv1.JobBackup {
		t.Errorf("kind=backup&limit=2: %+v", got)
	}
	for _, bad := range []string{"kind=bogus", "result=done", "since=yesterday", "until=2026-03-01", "limit=0", "limit=1001",
		"limit=ten", "vm=[", "host=" + url.QueryEscape("HV["), "since=" + rfc(marks[2]) + "&until=" + rfc(marks[1]), "colour=red"} {
		if st, code := getJSON(t, s, s.AdminToken, "/api/v1/jobs?"+bad, &apiv1.JobList{}); st != 400 || code != apiv1.CodeBadRequest {
			t.Errorf("?%s: %d %s, want 400 BAD_REQUEST", bad, st, code)
		}
	}
	// A restore token of one host sees that host's jobs only.
	_, tok, err := s.Tokens.Create(apiv1.RoleRestore, "HV02")
	if err != nil {
		t.Fatal(err)
	}
	var list apiv1.JobList
	if st, code := getJSON(t, s, tok, "/api/v1/jobs?limit=1000", &list); st != 200 || len(list.Jobs) != 4 || len(list.Maintenance) != 0 {
		t.Fatalf("restore token of HV02: %d %s, %d jobs, %d maintenance; want HV02's 4 jobs", st, code, len(list.Jobs), len(list.Maintenance))
	}
	for _, j := range list.Jobs {
		if j.Host != "HV02" {
			t.Fatalf("restore token of HV02 sees %+v", j)
		}
	}
	if st, code := getJSON(t, s, tok, "/api/v1/jobs/"+all[len(all)-1].ID, &apiv1.JobDetail{}); st != 404 || code != apiv1.CodeJobNotFound {
		t.Fatalf("restore token of HV02 reading a job of HV01: %d %s, want 404", st, code)
	}
}
