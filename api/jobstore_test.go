package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// TestJobLogsAreTheirOwn: two backups of different VMs at once each log
// only their own lines.
func TestJobLogsAreTheirOwn(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	vms := []string{"SQL01", "EX01"}
	sessions := make([]string, len(vms))
	var wg sync.WaitGroup
	for i, vm := range vms {
		p := writeDisk(t, dir, vm+".raw", mixed(uint64(40+i), 6<<20))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i] = backup(t, s, "HV01", vm, p).Session
		}()
	}
	wg.Wait()
	for i, vm := range vms {
		d := jobDetail(t, s, jobOfSession(t, s, sessions[i]).ID)
		if !logHas(d, "session opened") || !logHas(d, "session completed") {
			t.Fatalf("job of %s: log %+v", vm, d.Log)
		}
		for _, l := range d.Log {
			for j, other := range sessions {
				if j != i && (strings.Contains(l.Msg, other) || strings.Contains(l.Msg, "vm="+vms[j])) {
					t.Fatalf("the job of %s logs a line of %s: %s", vm, vms[j], l.Msg)
				}
			}
		}
	}
}

// TestJobLogBound: a client that makes the server log without end (one
// failed upload after another in one session) gets a bounded job log:
// at most 201 lines (the first 100, a line saying how many were left
// out, the latest 100), none over 512 bytes.
func TestJobLogBound(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	const uploads = 260
	name := strings.Repeat("n", 120) + ".vhd" // long lines
	for i := range uploads {
		st, _ := call(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/"+name+"?format=vhd", s.AdminToken,
			bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 4096)))
		if st != 400 {
			t.Fatalf("upload %d: %d", i, st)
		}
	}
	d := jobDetail(t, s, jobOfSession(t, s, id).ID)
	if len(d.Log) != 201 {
		t.Fatalf("%d log lines after %d failed uploads, want 201", len(d.Log), uploads)
	}
	if !strings.HasPrefix(d.Log[0].Msg, "session opened") {
		t.Fatalf("the first line is not the session's opening: %s", d.Log[0].Msg)
	}
	m := regexp.MustCompile(`^\((\d+) log lines left out\)$`).FindStringSubmatch(d.Log[100].Msg)
	if m == nil {
		t.Fatalf("line 100: %q, want the count left out", d.Log[100].Msg)
	}
	if left, _ := strconv.Atoi(m[1]); left != 1+uploads-200 {
		t.Fatalf("%d lines left out, want %d", left, 1+uploads-200)
	}
	for _, l := range d.Log {
		if len(l.Msg) > 512 || l.Level == "" || l.Time.IsZero() {
			t.Fatalf("log line %+v", l)
		}
	}
	// The latest lines are kept: the last failure is the last line.
	last := d.Log[len(d.Log)-1]
	if !strings.HasPrefix(last.Msg, "disk upload failed") {
		t.Fatalf("last line %q, want the last failure", last.Msg)
	}
}

// countJobObjects counts the job objects in the backend.
func countJobObjects(t *testing.T, s *testserver.Server) int {
	t.Helper()
	n := 0
	if err := s.Backend.List(context.Background(), backend.TypeJob, func(backend.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestJobHistoryRetention: the sweep removes finished jobs older than the
// retention from the index and the backend, and keeps younger ones and
// running ones.
func TestJobHistoryRetention(t *testing.T) {
	clk := &leaseClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s := testserver.Start(t, testserver.Options{Now: clk.now, Lease: 1000 * time.Hour, JobHistory: 24 * time.Hour})
	dir := t.TempDir()
	old := backup(t, s, "HV01", "VM1", writeDisk(t, dir, "a.raw", random(100<<10)))
	running := openSession(t, s, "HV01", "VM2")
	clk.advance(20 * time.Hour)
	young := backup(t, s, "HV01", "VM3", writeDisk(t, dir, "b.raw", random(100<<10)))
	s.Repo.History().Flush()
	if n := countJobObjects(t, s); n != 2 {
		t.Fatalf("%d job objects in the backend, want the 2 finished jobs", n)
	}
	if n, err := s.Repo.History().Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep within the retention: %d %v", n, err)
	}
	clk.advance(5 * time.Hour) // old ended 25 h ago, young 5 h ago
	if n, err := s.Repo.History().Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v, want 1 removed", n, err)
	}
	var sessions []string
	for _, j := range jobList(t, s, "") {
		sessions = append(sessions, j.SessionID)
	}
	if fmt.Sprint(sessions) != fmt.Sprint([]string{young.Session, running}) {
		t.Fatalf("jobs after the sweep: %v, want the young one and the running one", sessions)
	}
	if n := countJobObjects(t, s); n != 1 {
		t.Fatalf("%d job objects in the backend after the sweep, want 1", n)
	}
	if id := jobIDOf(t, s, old.Session); id != "" {
		t.Fatalf("the old job %s is still listed", id)
	}
	// A repair does not bring back what the sweep removed.
	if err := s.Client("").Abort(context.Background(), running); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Repo.RebuildIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	if id := jobIDOf(t, s, old.Session); id != "" {
		t.Fatalf("the old job %s is back after a repair", id)
	}
}

// jobIDOf returns the id of a session's job, or "" if the history has none.
func jobIDOf(t *testing.T, s *testserver.Server, session string) string {
	t.Helper()
	for _, j := range jobList(t, s, "?limit=1000") {
		if j.SessionID == session {
			return j.ID
		}
	}
	return ""
}

// history returns the whole history with each job's log, by id.
func history(t *testing.T, s *testserver.Server) map[string]apiv1.JobDetail {
	t.Helper()
	out := map[string]apiv1.JobDetail{}
	for _, j := range jobList(t, s, "?limit=1000") {
		out[j.ID] = jobDetail(t, s, j.ID)
	}
	return out
}

// TestJobHistorySurvivesRestartAndRepair: after a restart, and after a
// repair of a deleted index, the history holds every finished job as it
// was, logs included; a job running at the stop ends as failed.
func TestJobHistorySurvivesRestartAndRepair(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	ctx := context.Background()
	backup(t, s, "HV01", "VM1", writeDisk(t, dir, "a.raw", random(300<<10)))
	aborted := openSession(t, s, "HV01", "VM2")
	if err := s.Client("").Abort(ctx, aborted); err != nil {
		t.Fatal(err)
	}
	var pr apiv1.PruneResult
	if err := s.Client("").DoJSON(ctx, "POST", "/api/v1/prune", apiv1.PruneRequest{}, &pr); err != nil {
		t.Fatal(err)
	}
	open := openSession(t, s, "HV01", "VM3")
	before := history(t, s)
	s.Restart(t, false)
	after := history(t, s)
	if len(after) != len(before) {
		t.Fatalf("%d jobs after a restart, %d before", len(after), len(before))
	}
	for id, want := range before {
		got := after[id]
		if want.SessionID == open {
			if got.Result != apiv1.JobFailed || got.End.IsZero() || !strings.Contains(got.Error, "shutting down") {
				t.Fatalf("the job running at the stop: %+v", got)
			}
			continue
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("job after a restart:\n%+v\nbefore:\n%+v", got, want)
		}
	}
	finished := history(t, s)

	s.Restart(t, true) // the index is gone
	st, err := s.Repo.RebuildIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Jobs != len(finished) {
		t.Fatalf("the repair brought back %d jobs, want %d", st.Jobs, len(finished))
	}
	repaired := history(t, s)
	for id, want := range finished {
		if got := repaired[id]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("job after the index was lost and repaired:\n%+v\nbefore:\n%+v", got, want)
		}
	}
	if len(repaired) != len(finished)+1 {
		t.Fatalf("%d jobs after the repair, want %d and the repair", len(repaired), len(finished))
	}
}

// scrape returns the value of every sample of /metrics, by its line's
// name and labels.
func scrape(t *testing.T, s *testserver.Server) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestVMMetrics: the last success and failure of each VM, and jobs by
// kind and result; the timestamps come back after a restart (from the
// history and the catalogue), also once the history no longer has the
// backup.
func TestVMMetrics(t *testing.T) {
	clk := &leaseClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s := testserver.Start(t, testserver.Options{Now: clk.now, JobHistory: 24 * time.Hour})
	dir := t.TempDir()
	ctx := context.Background()
	ok := backup(t, s, "HV01", "VM1", writeDisk(t, dir, "a.raw", random(100<<10)))
	clk.advance(time.Minute)
	failed := openSession(t, s, "HV01", "VM2")
	if st, _ := call(t, s, "PUT", "/api/v1/sessions/"+failed+"/disks/d.vhd?format=vhd", s.AdminToken, bytes.NewReader(random(4096))); st != 400 {
		t.Fatalf("bad image: %d", st)
	}
	clk.advance(time.Minute)
	if err := s.Client("").Abort(ctx, failed); err != nil {
		t.Fatal(err)
	}
	failedAt := clk.now()
	aborted := openSession(t, s, "HV01", "VM3")
	if err := s.Client("").Abort(ctx, aborted); err != nil {
		t.Fatal(err)
	}
	success := `shadowvault_vm_last_success_timestamp_seconds{host="HV01",vm="VM1"}`
	failure := `shadowvault_vm_last_failure_timestamp_seconds{host="HV01",vm="VM2"}`
	want := map[string]float64{
		success: float64(ok.CommittedAt.Unix()),
		failure: float64(failedAt.Unix()),
		`shadowvault_jobs_total{kind="backup",result="success"}`: 1,
		`shadowvault_jobs_total{kind="backup",result="failed"}`:  1,
		`shadowvault_jobs_total{kind="backup",result="aborted"}`: 1,
		`shadowvault_jobs_total{kind="prune",result="success"}`:  0,
	}
	got := scrape(t, s)
	for k, v := range want {
		if g, found := got[k]; !found || g != v {
			t.Errorf("%s = %v (found %v), want %v", k, g, found, v)
		}
	}
	for k := range got {
		if strings.Contains(k, `vm="VM3"`) || strings.HasPrefix(k, "shadowvault_vm_last_failure") && k != failure ||
			strings.HasPrefix(k, "shadowvault_vm_last_success") && k != success {
			t.Errorf("unexpected sample %s", k)
		}
	}
	s.Restart(t, false)
	got = scrape(t, s)
	if got[success] != want[success] || got[failure] != want[failure] {
		t.Fatalf("after a restart: success %v failure %v, want %v %v", got[success], got[failure], want[success], want[failure])
	}
	// Past the retention the history forgets the backup: the catalogue
	// still has its snapshot.
	clk.advance(48 * time.Hour)
	if n, err := s.Repo.History().Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	s.Restart(t, false)
	if got = scrape(t, s); got[success] != want[success] {
		t.Fatalf("after the history was swept and a restart: success %v, want %v", got[success], want[success])
	}
	if _, found := got[failure]; found {
		t.Fatalf("a failure the history no longer holds is still exported")
	}
}

// jobFailBackend fails every Put of a job object while fail is set.
type jobFailBackend struct {
	backend.Backend
	fail atomic.Bool
}

func (b *jobFailBackend) Put(ctx context.Context, h backend.Handle, r io.ReadSeeker, size int64) error {
	if h.Type == backend.TypeJob && b.fail.Load() {
		return fmt.Errorf("put %s: %w", h, backend.ErrTransient)
	}
	return b.Backend.Put(ctx, h, r, size)
}

// TestJobHistoryFailureIsNotFatal: a backend that refuses the job
// history's copies fails no backup; the history still answers from the
// index, and the next start stores the copies.
func TestJobHistoryFailureIsNotFatal(t *testing.T) {
	be := &jobFailBackend{Backend: mem.New()}
	be.fail.Store(true)
	s := testserver.Start(t, testserver.Options{Backend: be})
	rc := backup(t, s, "HV01", "VM1", writeDisk(t, t.TempDir(), "a.raw", random(200<<10)))
	s.Repo.History().Flush()
	if j := jobOfSession(t, s, rc.Session); j.Result != apiv1.JobSuccess {
		t.Fatalf("job %+v", j)
	}
	if n := countJobObjects(t, s); n != 0 {
		t.Fatalf("%d job objects stored by a backend that refuses them", n)
	}
	be.fail.Store(false)
	s.Restart(t, false)
	if n := countJobObjects(t, s); n != 1 {
		t.Fatalf("%d job objects after a restart with the backend back, want 1", n)
	}
}
