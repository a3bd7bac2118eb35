package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
)

// TestJobsCLI: the history through the real binary: the table, --json,
// filters, a bad filter refused by the server, jobs show with the job's
// log, and the history after the index was deleted and repaired offline.
func TestJobsCLI(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	backupDisks(t, s, dir)
	if out, _, code := cli(t, s, "", "prune"); code != 0 {
		t.Fatalf("prune exited %d:\n%s", code, out)
	}
	out, _, code := cli(t, s, "", "jobs")
	if code != 0 || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "MAINTENANCE") {
		t.Fatalf("jobs: exit %d:\n%s", code, out)
	}
	rows := map[string]string{} // kind -> row
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 4 && (f[1] == "backup" || f[1] == "prune") {
			rows[f[1]] = line
		}
	}
	if !strings.Contains(rows["backup"], "HV01") || !strings.Contains(rows["backup"], "VM1") || !strings.Contains(rows["backup"], "success") ||
		!strings.Contains(rows["prune"], "success") {
		t.Fatalf("jobs table:\n%s", out)
	}
	out, _, code = cli(t, s, "", "jobs", "--json", "--kind", "backup", "--host", "HV*", "--since", "1h", "--limit", "5")
	var list apiv1.JobList
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Jobs) != 1 || list.Jobs[0].Kind != apiv1.JobBackup || len(list.Maintenance) != 2 {
		t.Fatalf("jobs --json --kind backup: exit %d:\n%s", code, out)
	}
	backupJob := list.Jobs[0]
	if out, _, code = cli(t, s, "", "jobs", "--json", "--result", "failed"); code != 0 || !strings.Contains(out, `"jobs": []`) {
		t.Fatalf("jobs --result failed: exit %d:\n%s", code, out)
	}
	if _, errOut, code := cli(t, s, "", "jobs", "--kind", "bogus"); code != exitRefused || !strings.Contains(errOut, "BAD_REQUEST") {
		t.Fatalf("jobs --kind bogus: exit %d, want %d:\n%s", code, exitRefused, errOut)
	}
	if _, _, code := cli(t, s, "", "jobs", "--since", "last tuesday"); code != exitUsage {
		t.Fatalf("jobs --since 'last tuesday': exit %d, want %d", code, exitUsage)
	}
	out, _, code = cli(t, s, "", "jobs", "show", backupJob.ID)
	if code != 0 || !strings.Contains(out, "result    success") && !strings.Contains(out, "success") ||
		!strings.Contains(out, "session opened") || !strings.Contains(out, "session completed") || !strings.Contains(out, backupJob.SnapshotID) {
		t.Fatalf("jobs show: exit %d:\n%s", code, out)
	}
	var d apiv1.JobDetail
	if out, _, code = cli(t, s, "", "jobs", "show", backupJob.ID, "--json"); code != 0 || json.Unmarshal([]byte(out), &d) != nil || len(d.Log) == 0 || d.ID != backupJob.ID {
		t.Fatalf("jobs show --json: exit %d:\n%s", code, out)
	}
	if _, errOut, code := cli(t, s, "", "jobs", "show", "0123"); code != exitRefused || !strings.Contains(errOut, "JOB_NOT_FOUND") {
		t.Fatalf("jobs show of an unknown job: exit %d:\n%s", code, errOut)
	}

	// The history survives the loss of the index and an offline repair.
	s.kill()
	repoDir := filepath.Join(dir, "data")
	if err := os.Remove(filepath.Join(repoDir, "index.db")); err != nil {
		t.Fatal(err)
	}
	if code, out := runOut(t, nil, "repair", "index", "--repo", repoDir); code != 0 {
		t.Fatalf("offline repair: exit %d:\n%s", code, out)
	}
	s2 := startServer(t, dir)
	out, _, code = cli(t, s2, "", "jobs", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("jobs after the repair: exit %d:\n%s", code, out)
	}
	kinds := map[apiv1.JobKind]int{}
	for _, j := range list.Jobs {
		kinds[j.Kind]++
	}
	if kinds[apiv1.JobBackup] != 1 || kinds[apiv1.JobPrune] != 1 || kinds[apiv1.JobRepair] != 1 {
		t.Fatalf("jobs after the index was lost and repaired: %v, want the backup, the prune and the repair", kinds)
	}
	if out, _, code = cli(t, s2, "", "jobs", "show", backupJob.ID); code != 0 || !strings.Contains(out, "session completed") {
		t.Fatalf("jobs show after the repair: exit %d:\n%s", code, out)
	}
}
