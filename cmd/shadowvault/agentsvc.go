package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/shadowvault/shadowvault/agent"
)

var (
	agentCmd = command{name: "agent", args: "run|install|uninstall", summary: "run the backup agent as a service that pulls its host's schedule"}

	agentRunCmd = command{
		name:    "agent run",
		args:    "--server URL --token-file FILE --receipt-key KEY",
		summary: "run the agent's service loop: report the host's VMs, pull its plan, back up what is due",
		about: `The agent holds only the server's URL, its token (an agent token of this
host) and the server's pinned receipt key. Every round it reports the host's
VMs (Hyper-V on Windows, else --inventory-file), asks the server for the
host's plan, and runs each due backup, one at a time, through the same code
as ` + "`shadowvault backup`" + ` (with --vss on Windows): a backup counts only once its
receipt verifies against the pinned key. A failed backup is retried after
1, 2, 4 ... minutes (with jitter, at most 30); a backup of a VM that is
already running elsewhere (409) is tried again a minute later. SIGINT or
SIGTERM (or the service manager's stop) ends the loop; a backup in flight
aborts its session.
`,
	}
	agentInstallCmd = command{
		name:    "agent install",
		args:    "--server URL --token-file FILE --receipt-key KEY",
		summary: "install `agent run` as a service (Windows service; elsewhere print a systemd unit)",
		about: `On Windows, installs the service "shadowvault-agent" (automatic start, as
LocalSystem) that runs this binary with ` + "`agent run`" + ` and the flags given, and
starts it. Elsewhere it prints a systemd unit to stdout: save it as
/etc/systemd/system/shadowvault-agent.service and run
` + "`systemctl daemon-reload && systemctl enable --now shadowvault-agent`" + `.
The token stays in --token-file (readable by the service's account only).
`,
	}
	agentUninstallCmd = command{
		name:    "agent uninstall",
		summary: "stop and remove the agent's Windows service",
	}
)

// serviceName is the agent's service name (Windows service, systemd unit).
const serviceName = "shadowvault-agent"

type agentOpts struct {
	cf                               clientFlags
	tokenFile, key, host, inv, state string
}

func agentFlags(cmd *command) func() (*flag.FlagSet, *agentOpts) {
	return func() (*flag.FlagSet, *agentOpts) {
		fs := cmd.flagSet()
		o := &agentOpts{}
		if cmd == &agentUninstallCmd {
			return fs, o
		}
		o.cf.register(fs)
		fs.StringVar(&o.tokenFile, "token-file", "", "read the agent token from `FILE` (same as --token @FILE)")
		fs.StringVar(&o.key, "receipt-key", "", "the server's receipt `KEY` (hex) to pin (SHADOWVAULT_RECEIPT_KEY; required)")
		fs.StringVar(&o.host, "host", "", "this host's `NAME` in the server (default: the computer name)")
		fs.StringVar(&o.inv, "inventory-file", "", "read the host's VMs from `FILE` ({\"vms\":[...]}, as PUT .../inventory) instead of Hyper-V")
		fs.StringVar(&o.state, "state-dir", "", "`DIR` for the agent's files: VSS scripts and, as a Windows service, agent.log (default: %ProgramData%\\shadowvault on Windows)")
		return fs, o
	}
}

var (
	agentRunFlags       = agentFlags(&agentRunCmd)
	agentInstallFlags   = agentFlags(&agentInstallCmd)
	agentUninstallFlags = agentFlags(&agentUninstallCmd)
)

// resolve fills the defaults and checks what the service needs.
func (o *agentOpts) resolve() error {
	if o.tokenFile != "" {
		if o.cf.token != "" {
			return usageErrorf("agent: give --token or --token-file, not both")
		}
		abs, err := filepath.Abs(o.tokenFile)
		if err != nil {
			return err
		}
		o.tokenFile, o.cf.token = abs, "@"+abs
	}
	o.key = firstSet(o.key, os.Getenv("SHADOWVAULT_RECEIPT_KEY"))
	if b, err := hex.DecodeString(o.key); err != nil || len(b) != 32 {
		return usageErrorf("agent: --receipt-key must be the server's receipt key (64 hex digits, printed by token create): the agent pins it")
	}
	if o.host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("host name: %w", err)
		}
		o.host = strings.ToUpper(strings.SplitN(h, ".", 2)[0])
	}
	if o.inv != "" {
		abs, err := filepath.Abs(o.inv)
		if err != nil {
			return err
		}
		o.inv = abs
	}
	return nil
}

// serviceArgs are the arguments the installed service runs this binary
// with: `agent run` and the flags given (never a token, only its file).
func (o *agentOpts) serviceArgs(server string) []string {
	args := []string{"agent", "run", "--server", server, "--token-file", o.tokenFile, "--receipt-key", o.key, "--host", o.host}
	if ca := o.cf.caCertFile(); ca != "" {
		args = append(args, "--ca-cert", ca)
	}
	if o.inv != "" {
		args = append(args, "--inventory-file", o.inv)
	}
	if o.state != "" {
		args = append(args, "--state-dir", o.state)
	}
	return args
}

// cmdAgent: shadowvault agent run|install|uninstall.
func cmdAgent(args []string) int {
	sub, rest := subverb(args)
	switch sub {
	case "run":
		fs, o := agentRunFlags()
		if pos := parseArgs(fs, rest); len(pos) != 0 {
			return fail(usageErrorf("agent run takes no arguments"))
		}
		if err := o.resolve(); err != nil {
			return fail(err)
		}
		if o.cf.token == "" && os.Getenv("SHADOWVAULT_TOKEN") == "" {
			return fail(usageErrorf("agent run needs --token-file"))
		}
		if isWindowsService() {
			return serviceMain(o)
		}
		ctx, stop := signalContext()
		defer stop()
		return fail(runAgent(ctx, o, slog.Default()))
	case "install":
		fs, o := agentInstallFlags()
		if pos := parseArgs(fs, rest); len(pos) != 0 {
			return fail(usageErrorf("agent install takes no arguments"))
		}
		if err := o.resolve(); err != nil {
			return fail(err)
		}
		if o.tokenFile == "" {
			return fail(usageErrorf("agent install needs --token-file: the service reads its token from there"))
		}
		server, err := o.cf.serverURL()
		if err != nil {
			return fail(err)
		}
		return installService(o, server)
	case "uninstall":
		fs, _ := agentUninstallFlags()
		if pos := parseArgs(fs, rest); len(pos) != 0 {
			return fail(usageErrorf("agent uninstall takes no arguments"))
		}
		return uninstallService()
	}
	return groupUsage(&agentCmd, sub)
}

// runAgent runs the service loop until ctx ends; it returns ctx's error
// (context.Canceled: exit 130, as for any verb stopped by a signal).
func runAgent(ctx context.Context, o *agentOpts, log *slog.Logger) error {
	c, err := o.cf.client()
	if err != nil {
		return err
	}
	inventory := agent.HyperVInventory
	if o.inv != "" {
		inventory = agent.InventoryFile(o.inv)
	}
	log.Info("agent service starting", "server", c.Server, "host", o.host, "receipt_key", o.key[:16]+"...")
	return agent.RunService(ctx, c, agent.ServiceOptions{
		Host: o.host, Inventory: inventory, Run: backupRunner(c, o, log), Log: log,
	})
}
