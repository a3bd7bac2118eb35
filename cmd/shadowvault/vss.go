package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// runVSS runs a backup inside a VSS backup driven by diskshadow (the
// script is agent.VSSPlan.Generate's): the agent's upload step runs against
// the exposed shadow copies; for a full backup diskshadow ends the backup
// session (BackupComplete, log truncation in the guests) only when that step
// exited 0 with a verified receipt. A copy backup never sends BackupComplete.
// The script deletes its shadow copies when it gets to its end.
func runVSS(vm string, typ apiv1.BackupType, disks []string, agentArgs []string) int {
	vols, letters, err := vssVolumes(disks)
	if err != nil {
		return fail(err)
	}
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	dir := filepath.Join(os.Getenv("ProgramData"), "shadowvault", fmt.Sprintf("%s-%s", vm, time.Now().UTC().Format("20060102T150405")))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	plan := agent.VSSPlan{
		VM: vm, Type: typ, Disks: disks, Volumes: vols, Letters: letters,
		Metadata: filepath.Join(dir, "backup.cab"), UploadCmd: filepath.Join(dir, "upload.cmd"),
		Agent: self, AgentArgs: append(agentArgs, "--writer-metadata", filepath.Join(dir, "backup.cab")),
	}
	out, err := plan.Generate()
	if err != nil {
		return fail(err)
	}
	script := filepath.Join(dir, "backup.dsh")
	if err := os.WriteFile(script, []byte(out.Diskshadow), 0o600); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(plan.UploadCmd, []byte(out.Upload), 0o600); err != nil {
		return fail(err)
	}
	slog.Info("running diskshadow", "script", script)
	cmd := exec.Command("diskshadow.exe", "/s", script)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	err = cmd.Run()
	if err == nil {
		if typ == apiv1.BackupFull {
			slog.Info("VSS backup complete; the writers were told the full backup succeeded")
		} else {
			slog.Info("VSS copy backup complete; the writers' logs are untouched")
		}
		return exitOK
	}
	slog.Error("diskshadow failed: VSS did not signal BackupComplete; guest logs are not truncated", "err", err)
	cleanupShadows(dir, out.Exposed)
	code := exitFailure
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
		code = ee.ExitCode()
	}
	return code
}

// cleanupShadows removes shadow copies left exposed by a failed run:
// diskshadow quits at a failing EXEC, before the script's own DELETE SHADOWS
// (the copies are persistent: they outlive diskshadow).
func cleanupShadows(dir string, exposed []string) {
	script := filepath.Join(dir, "cleanup.dsh")
	var s string
	for _, l := range exposed {
		s += "DELETE SHADOWS EXPOSED " + l + "\r\n"
	}
	s += "EXIT\r\n"
	if os.WriteFile(script, []byte(s), 0o600) == nil {
		_ = exec.Command("diskshadow.exe", "/s", script).Run()
	}
}

// vssUpload is what the upload step that diskshadow EXECs is run with.
type vssUpload struct {
	server, caCert, key, host, vm, format string
	typ                                   apiv1.BackupType
	parallel, retries                     int
	hints, excludeFree                    bool
	incremental                           bool
	base, changed                         string
	schedule                              string
}

// vssUploadArgs are the upload step's flags: everything but the disks and
// the token. It runs inside the VSS backup, so it asks for an
// application-consistent backup.
func vssUploadArgs(u vssUpload) []string {
	up := []string{"--server", u.server, "--host", u.host, "--vm", u.vm, "--type", u.typ.String(),
		"--consistency", apiv1.ConsistencyApplication.String(), "--parallel", fmt.Sprint(u.parallel), "--retries", fmt.Sprint(u.retries)}
	if u.key != "" {
		up = append(up, "--receipt-key", u.key)
	}
	if u.caCert != "" {
		up = append(up, "--ca-cert", u.caCert)
	}
	if u.format != "" {
		up = append(up, "--format", u.format)
	}
	up = append(up, fmt.Sprintf("--guest-hints=%v", u.hints), fmt.Sprintf("--exclude-free=%v", u.excludeFree))
	if u.incremental {
		up = append(up, "--incremental")
		if u.base != "" {
			up = append(up, "--base", u.base)
		}
		if u.changed != "" {
			up = append(up, "--changed-ranges", u.changed)
		}
	}
	if u.schedule != "" {
		up = append(up, "--schedule", u.schedule)
	}
	writers, _ := json.Marshal([]apiv1.Writer{{Name: "Microsoft Hyper-V VSS Writer", ID: agent.HyperVWriter}})
	return append(up, "--writers", string(writers))
}
