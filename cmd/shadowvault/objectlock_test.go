package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// --object-lock is refused, before anything is opened, for a local
// repository and for values that are not an age or a mode.
func TestObjectLockFlags(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--repo", filepath.Join(dir, "repo"), "--object-lock", "30d"}, "needs an S3 repository"},
		{[]string{"--repo", "s3://b/p", "--object-lock", "soon"}, "want an age"},
		{[]string{"--repo", "s3://b/p", "--object-lock", "30d", "--object-lock-mode", "strict"}, "want compliance or governance"},
		{[]string{"--repo", "s3://b/p", "--object-lock", "30d", "--object-lock-slack", "-1h"}, "must not be negative"},
	}
	for _, c := range cases {
		cmd := exec.Command(binary, append([]string{"serve", "--state", filepath.Join(dir, "state"), "--listen", "127.0.0.1:0"}, c.args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("serve %v: %v, want exit %d saying %q:\n%s", c.args, err, exitUsage, c.want, stderr.String())
		}
	}
}

// repair versions on a repository that does not lock says so (409
// NOT_LOCKED) and changes nothing.
func TestRepairVersionsNeedsALock(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, errOut, code := cli(t, s, "", "repair", "versions")
	if code == exitOK || !strings.Contains(errOut, "does not lock") {
		t.Fatalf("repair versions on a local repository: exit %d:\n%s", code, errOut)
	}
}
