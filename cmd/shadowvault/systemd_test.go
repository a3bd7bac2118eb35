//go:build !windows

package main

import (
	"strings"
	"testing"
)

// TestSystemdUnit: the unit runs exactly the arguments given; words with
// spaces, quotes or systemd's specifiers ($, %) are quoted so that
// systemd splits and expands nothing.
func TestSystemdUnit(t *testing.T) {
	unit := systemdUnit("/opt/sv/shadowvault", []string{"agent", "run", "--token-file", "/etc/sv/my token", "--host", "HV$1%h", `a"b\c`})
	want := `ExecStart=/opt/sv/shadowvault agent run --token-file "/etc/sv/my token" --host "HV$$1%%h" "a\"b\\c"`
	if !strings.Contains(unit, want+"\n") {
		t.Fatalf("unit:\n%s\nwant the line\n%s", unit, want)
	}
	for _, line := range []string{"[Service]", "KillSignal=SIGTERM", "WantedBy=multi-user.target"} {
		if !strings.Contains(unit, line) {
			t.Errorf("unit lacks %s", line)
		}
	}
}
