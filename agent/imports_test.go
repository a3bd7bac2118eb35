package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports: the agent runs on the Hyper-V host, next to nothing of the
// server. It speaks API v1 through package apiv1 and never imports the
// repository, the index or the ingest pipeline.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	const mod = "github.com/shadowvault/shadowvault/"
	wire := false
	for _, p := range deps {
		name, ok := strings.CutPrefix(p, mod)
		if !ok {
			continue
		}
		wire = wire || name == "apiv1"
		for _, banned := range []string{"repo", "index", "ingest", "api"} {
			if name == banned || strings.HasPrefix(name, banned+"/") {
				t.Errorf("agent depends on %s", p)
			}
		}
	}
	if !wire {
		t.Errorf("agent does not import apiv1: %v", deps)
	}
}
