package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

// TestScheduleVerbs drives schedule set, list, show, status and rm on the
// real binary, and the exit codes of bad schedules.
func TestScheduleVerbs(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	if out, errOut, code := cli(t, s, "", "schedule", "set", "nightly", "--hosts", "HV*", "--vms", "SQL*",
		"--window", "22:00-04:00", "--days", "mon,fri", "--tz", "Europe/Berlin", "--incremental"); code != 0 || !strings.Contains(out, "schedule nightly (enabled)") {
		t.Fatalf("schedule set: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := cli(t, s, "", "schedule", "set", "often", "--hosts", "*", "--vms", "*", "--interval", "6h", "--copy", "--disabled"); code != 0 {
		t.Fatalf("schedule set --interval: exit %d\n%s", code, errOut)
	}
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"schedule", "set", "x", "--hosts", "*", "--vms", "*", "--window", "22:00-04:00", "--tz", "Nowhere/Land"}, exitRefused, "BAD_SCHEDULE"},
		{[]string{"schedule", "set", "x", "--hosts", "*", "--vms", "*", "--interval", "6h", "--policy", "none"}, exitRefused, "UNKNOWN_POLICY"},
		{[]string{"schedule", "set", "x", "--hosts", "*", "--vms", "*", "--interval", "6h", "--window", "22:00-04:00"}, exitUsage, "one of --window or --interval"},
		{[]string{"schedule", "set", "x", "--vms", "*", "--interval", "6h"}, exitUsage, "--hosts"},
		{[]string{"schedule", "show", "nosuch"}, exitRefused, "NOT_FOUND"},
		{[]string{"agent", "run", "--token-file", filepath.Join(dir, "t")}, exitUsage, "--receipt-key"},
	} {
		if _, errOut, code := cli(t, s, "", c.args...); code != c.code || !strings.Contains(errOut, c.say) {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s", c.args, code, c.code, c.say, errOut)
		}
	}
	out, _, code := cli(t, s, "", "schedule", "list")
	if code != 0 || !strings.Contains(out, "22:00-04:00 Europe/Berlin mon,fri") || !strings.Contains(out, "every 6h") || strings.Index(out, "nightly") > strings.Index(out, "often") {
		t.Fatalf("schedule list: exit %d\n%s", code, out)
	}
	out, _, _ = cli(t, s, "", "schedule", "show", "often", "--json")
	var sc apiv1.Schedule
	if err := json.Unmarshal([]byte(out), &sc); err != nil || sc.Enabled || sc.BackupType != apiv1.BackupCopy || sc.Interval != "6h" {
		t.Fatalf("schedule show --json: %v %+v\n%s", err, sc, out)
	}
	if out, _, code := cli(t, s, "", "schedule", "status", "--json"); code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("schedule status --json: exit %d\n%s", code, out)
	}
	if _, _, code := cli(t, s, "", "schedule", "rm", "often"); code != 0 {
		t.Fatalf("schedule rm: exit %d", code)
	}
	if _, _, code := cli(t, s, "", "schedule", "show", "often"); code != exitRefused {
		t.Fatalf("schedule show after rm: exit %d", code)
	}
}

// TestAgentRunBacksUpOnce runs `agent run` (the real binary) against the
// real server with an interval schedule: the due VM is backed up once with
// a verified receipt, the other VM of the inventory, which no schedule
// selects, is left alone, and SIGTERM ends the agent (exit 130).
func TestAgentRunBacksUpOnce(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	ctx := context.Background()
	var tok apiv1.TokenCreated
	if err := s.client().DoJSON(ctx, http.MethodPost, "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.RoleAgent, Host: "HV01"}, &tok); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte(tok.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "vm1.raw")
	randomFile(t, disk, 3<<20)
	inv, _ := json.Marshal(apiv1.InventoryReport{VMs: []apiv1.InventoryVM{
		{Name: "VM1", State: "running", Disks: []apiv1.InventoryDisk{{Path: disk}}},
		{Name: "OTHER", State: "running", Disks: []apiv1.InventoryDisk{{Path: disk}}},
	}})
	invFile := filepath.Join(dir, "inventory.json")
	if err := os.WriteFile(invFile, inv, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := cli(t, s, "", "schedule", "set", "hourly", "--hosts", "HV01", "--vms", "VM*", "--interval", "1h"); code != 0 {
		t.Fatalf("schedule set: %s", errOut)
	}
	// With the flags that agent install writes into the service.
	_, unitErr, code := cli(t, s, "", "agent", "install", "--server", s.url, "--token-file", tokenFile, "--receipt-key", tok.ReceiptKey, "--host", "HV01")
	unit, _, _ := cli(t, s, "", "agent", "install", "--server", s.url, "--token-file", tokenFile, "--receipt-key", tok.ReceiptKey, "--host", "HV01")
	if code != 0 || !strings.Contains(unit, "ExecStart=") || !strings.Contains(unit, "agent run --server "+s.url+" --token-file "+tokenFile) || strings.Contains(unit, tok.Token) {
		t.Fatalf("agent install: exit %d\n%s%s", code, unit, unitErr)
	}
	cmd := exec.Command(binary, "agent", "run", "--server", s.url, "--token-file", tokenFile, "--receipt-key", tok.ReceiptKey,
		"--host", "HV01", "--inventory-file", invFile)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_TOKEN=", "SHADOWVAULT_CA_CERT=")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	count := func(vm string) int {
		var list apiv1.SnapshotList
		if err := s.client().Do(ctx, http.MethodGet, "/api/v1/snapshots?vm="+vm, nil, 0, &list); err != nil {
			t.Fatal(err)
		}
		return len(list.Snapshots)
	}
	deadline := time.Now().Add(60 * time.Second)
	for count("VM1") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no backup of VM1 within a minute:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a second backup would start now
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, _ := err.(*exec.ExitError); ee == nil || ee.ExitCode() != exitInterrupted {
		t.Fatalf("agent run after SIGTERM: %v\n%s", err, logs.String())
	}
	if n, other := count("VM1"), count("OTHER"); n != 1 || other != 0 {
		t.Fatalf("VM1 backed up %d times, OTHER %d: want 1 and 0\n%s", n, other, logs.String())
	}
	if !strings.Contains(logs.String(), "scheduled backup complete: receipt verified") {
		t.Errorf("no verified receipt in the agent's log:\n%s", logs.String())
	}
	var invs apiv1.InventoryList
	if err := s.client().Do(ctx, http.MethodGet, "/api/v1/inventory", nil, 0, &invs); err != nil || len(invs.Hosts) != 1 || len(invs.Hosts[0].VMs) != 2 {
		t.Fatalf("inventory the agent reported: %+v %v", invs, err)
	}
}
