//go:build !windows

package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/shadowvault/shadowvault/agent"
)

func isWindowsService() bool { return false }

func serviceMain(*agentOpts) int { return exitFailure }

// backupRunner runs each due backup in this process: without VSS, a
// crash-consistent backup of the plan's disks.
func backupRunner(c *agent.Client, o *agentOpts, log *slog.Logger) agent.RunFunc {
	return agent.DirectRun(c, agent.BackupOptions{Host: o.host, ReceiptKey: o.key, Log: log, GuestHints: true})
}

// installService prints a systemd unit: there is no Windows service
// manager here.
func installService(o *agentOpts, server string) int {
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, systemdUnit(exe, o.serviceArgs(server)))
	slog.Info("systemd unit written to stdout: save it as /etc/systemd/system/" + serviceName + ".service, then systemctl daemon-reload && systemctl enable --now " + serviceName)
	return exitOK
}

func uninstallService() int {
	slog.Info("no Windows service here: systemctl disable --now " + serviceName + " && rm /etc/systemd/system/" + serviceName + ".service")
	return exitOK
}
