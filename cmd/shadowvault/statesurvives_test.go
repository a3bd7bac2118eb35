package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tokens and policies are kept in the repository too: with the index lost,
// `repair index` brings them back, and every old token works again.
func TestRepairBringsBackTokensAndPolicies(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	ctx := context.Background()
	var tok struct{ Token string }
	body := `{"role":"agent","host":"HV01"}`
	if err := s.client().Do(ctx, http.MethodPost, "/api/v1/tokens", strings.NewReader(body), int64(len(body)), &tok); err != nil {
		t.Fatal(err)
	}
	pol := `{"match":{"host":"*","vm":"SQL*"},"keep_last":3}`
	if err := s.client().Do(ctx, http.MethodPut, "/api/v1/policies/sql", strings.NewReader(pol), int64(len(pol)), nil); err != nil {
		t.Fatal(err)
	}
	backupDisks(t, s, dir)
	s.kill()
	if err := os.Remove(filepath.Join(dir, "data", "index.db")); err != nil {
		t.Fatal(err)
	}
	code, out := runOut(t, nil, "repair", "index", "--repo", filepath.Join(dir, "data"))
	if code != 0 || !strings.Contains(out, "2 tokens, 1 policies") {
		t.Fatalf("repair index: exit %d\n%s", code, out)
	}
	s = startServer(t, dir) // the admin token file is the old one and works
	var got struct {
		KeepLast int `json:"keep_last"`
	}
	if err := s.client().Do(ctx, http.MethodGet, "/api/v1/policies/sql", nil, 0, &got); err != nil || got.KeepLast != 3 {
		t.Fatalf("policy after repair: %+v %v", got, err)
	}
	agentClient := s.client()
	agentClient.Token = tok.Token
	var list json.RawMessage
	if err := agentClient.Do(ctx, http.MethodGet, "/api/v1/snapshots", nil, 0, &list); err != nil || !bytes.Contains(list, []byte("HV01")) {
		t.Fatalf("the agent token after repair: %s %v", list, err)
	}
}

// Schedules are mirrored in the backend like policies: with the index
// lost, `repair index` brings them back as they were.
func TestRepairBringsBackSchedules(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	ctx := context.Background()
	sched := `{"hosts":"HV*","vms":"SQL*","window":{"days":["mon"],"start":"22:00","end":"04:00","time_zone":"Europe/Berlin"},"incremental":true}`
	if err := s.client().Do(ctx, http.MethodPut, "/api/v1/schedules/nightly", strings.NewReader(sched), int64(len(sched)), nil); err != nil {
		t.Fatal(err)
	}
	var before json.RawMessage
	if err := s.client().Do(ctx, http.MethodGet, "/api/v1/schedules", nil, 0, &before); err != nil {
		t.Fatal(err)
	}
	s.kill()
	if err := os.Remove(filepath.Join(dir, "data", "index.db")); err != nil {
		t.Fatal(err)
	}
	if code, out := runOut(t, nil, "repair", "index", "--repo", filepath.Join(dir, "data")); code != 0 {
		t.Fatalf("repair index: exit %d\n%s", code, out)
	}
	s = startServer(t, dir)
	var after json.RawMessage
	if err := s.client().Do(ctx, http.MethodGet, "/api/v1/schedules", nil, 0, &after); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) || !bytes.Contains(after, []byte(`"nightly"`)) {
		t.Fatalf("schedules after repair:\n%s\nbefore:\n%s", after, before)
	}
}
