package main

import (
	"fmt"
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
	fmt.Fprintf(os.Stderr, "shadowvault: running diskshadow /s %s\n", script)
	cmd := exec.Command("diskshadow.exe", "/s", script)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	err = cmd.Run()
	if err == nil {
		if typ == apiv1.BackupFull {
			fmt.Fprintln(os.Stderr, "shadowvault: VSS backup complete; the writers were told the full backup succeeded")
		} else {
			fmt.Fprintln(os.Stderr, "shadowvault: VSS copy backup complete; the writers' logs are untouched")
		}
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "shadowvault: diskshadow failed (%v): VSS did not signal BackupComplete; guest logs are not truncated\n", err)
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
