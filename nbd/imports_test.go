package nbd

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports: the package builds on the standard library alone.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/shadowvault/shadowvault/nbd" {
			t.Errorf("nbd depends on %s", p)
		}
	}
}
