package api_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

func TestForgetPruneOverAPI(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	var snaps []string
	for i := 0; i < 3; i++ {
		snaps = append(snaps, backup(t, s, "HV01", "SQL01", writeDisk(t, dir, "d.raw", random(1<<20))).Snapshot)
	}
	backup(t, s, "HV01", "EX01", writeDisk(t, dir, "e.raw", random(1<<20)))
	c := s.Client("")
	ctx := context.Background()

	// A stored policy for SQL VMs; EX01 matches none and is kept.
	body := `{"match":{"host":"*","vm":"SQL*"},"keep_last":1}`
	if err := c.Do(ctx, "PUT", "/api/v1/policies/sql", strings.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatal(err)
	}
	if st, code := call(t, s, "PUT", "/api/v1/snapshots/"+snaps[0]+"/protected", s.AdminToken, strings.NewReader("true")); st != 200 {
		t.Fatalf("protect: %d %s", st, code)
	}
	var list apiv1.SnapshotList
	if err := c.Do(ctx, "GET", "/api/v1/snapshots", nil, 0, &list); err != nil {
		t.Fatal(err)
	}
	for _, sn := range list.Snapshots {
		if sn.Protected != (sn.ID == snaps[0]) {
			t.Fatalf("the list says snapshot %s protected: %v", sn.ID, sn.Protected)
		}
	}
	var res struct {
		Keep []struct {
			Snapshot, VM string
			Reasons      []string
		} `json:"keep"`
		Remove []struct{ Snapshot string } `json:"remove"`
	}
	dry := `{"dry_run":true}`
	if err := c.Do(ctx, "POST", "/api/v1/forget", strings.NewReader(dry), int64(len(dry)), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Keep) != 3 || len(res.Remove) != 1 || res.Remove[0].Snapshot != snaps[1] {
		t.Fatalf("dry run: keep %+v remove %+v", res.Keep, res.Remove)
	}
	reasons := map[string]string{}
	for _, k := range res.Keep {
		reasons[k.Snapshot] = strings.Join(k.Reasons, ";")
	}
	if !strings.Contains(reasons[snaps[0]], "protected") || !strings.Contains(reasons[snaps[2]], "sql: last snapshot") {
		t.Fatalf("reasons %v", reasons)
	}
	if n := snapshotCount(t, s); n != 4 {
		t.Fatalf("a dry run removed snapshots: %d left", n)
	}
	if st, code := call(t, s, "DELETE", "/api/v1/snapshots/"+snaps[0], s.AdminToken, nil); st != 409 || code != "SNAPSHOT_PROTECTED" {
		t.Fatalf("delete of a protected snapshot: %d %s", st, code)
	}
	real := `{}`
	if err := c.Do(ctx, "POST", "/api/v1/forget", strings.NewReader(real), int64(len(real)), &res); err != nil {
		t.Fatal(err)
	}
	if n := snapshotCount(t, s); n != 3 {
		t.Fatalf("%d snapshots after forget, want 3", n)
	}
	var pr map[string]any
	pbody := `{"grace":"1ns"}`
	if err := c.Do(ctx, "POST", "/api/v1/prune", strings.NewReader(pbody), int64(len(pbody)), &pr); err != nil {
		t.Fatal(err)
	}
	if pr["bytes_freed"].(float64) <= 0 {
		t.Fatalf("prune freed nothing: %v", pr)
	}
	var jobs struct{ Maintenance []map[string]any }
	if err := c.Do(ctx, "GET", "/api/v1/jobs", nil, 0, &jobs); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(jobs)
	if !strings.Contains(string(b), `"name":"prune"`) || !strings.Contains(string(b), `"runs":1`) || !strings.Contains(string(b), "bytes_freed") {
		t.Fatalf("jobs: %s", b)
	}
	var chk struct {
		OK bool `json:"ok"`
	}
	cbody := `{"read_data_percent":100}`
	if err := c.Do(ctx, "POST", "/api/v1/check", strings.NewReader(cbody), int64(len(cbody)), &chk); err != nil || !chk.OK {
		t.Fatalf("check after prune: %+v %v", chk, err)
	}
}

func TestMetrics(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	backup(t, s, "HV01", "VM1", writeDisk(t, t.TempDir(), "d.raw", random(3<<20)))
	resp, err := httpGet(s, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	io.Copy(&b, resp.Body)
	for _, want := range []string{
		"shadowvault_ingest_stream_bytes_total 3.145728e+06",
		`shadowvault_sessions_total{outcome="completed"} 1`,
		`shadowvault_http_requests_total{route="PUT /api/v1/sessions/{id}/disks/{name}",status="200"} 1`,
		"shadowvault_repository_stored_bytes",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if st, _ := call(t, s, "GET", "/metrics", "", nil); st != 401 {
		t.Errorf("metrics without a token: %d", st)
	}
}
