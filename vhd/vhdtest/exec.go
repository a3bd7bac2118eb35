package vhdtest

import (
	osexec "os/exec"
	"strings"
	"testing"
)

// exec runs a tool with stdin; failure fails the test.
func runStdin(t testing.TB, tool, stdin string, args ...string) string {
	t.Helper()
	cmd := osexec.Command(Need(t, tool), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}
