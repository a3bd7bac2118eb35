//go:build !windows

package main

import "strings"

// systemdUnit is the unit `agent install` prints on systems without the
// Windows service manager.
func systemdUnit(exe string, args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = systemdQuote(a)
	}
	return `[Unit]
Description=shadowvault backup agent
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=` + systemdQuote(exe) + " " + strings.Join(quoted, " ") + `
Restart=on-failure
RestartSec=30
KillSignal=SIGTERM
TimeoutStopSec=120

[Install]
WantedBy=multi-user.target
`
}

// systemdQuote quotes a word of ExecStart= when it needs it.
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;$%") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", "$$", "%", "%%")
	return `"` + r.Replace(s) + `"`
}
