//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

func isWindowsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

// stateDir is --state-dir, or %ProgramData%\shadowvault.
func (o *agentOpts) stateDir() string {
	return firstSet(o.state, filepath.Join(os.Getenv("ProgramData"), "shadowvault"))
}

// serviceMain runs the loop under the service control manager: the log
// goes to agent.log in the state directory (a service has no console),
// and a stop or shutdown request cancels the loop.
func serviceMain(o *agentOpts) int {
	dir := o.stateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exitFailure
	}
	f, err := os.OpenFile(filepath.Join(dir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return exitFailure
	}
	defer f.Close()
	stderr = newConsole(f)
	log := slog.New(slog.NewTextHandler(f, nil))
	slog.SetDefault(log)
	if err := svc.Run(serviceName, &agentService{o: o, log: log}); err != nil {
		log.Error("service failed", "err", err)
		return exitFailure
	}
	return exitOK
}

type agentService struct {
	o   *agentOpts
	log *slog.Logger
}

// Execute is the service: it reports running, runs the loop, and on a
// stop or shutdown request cancels it and waits for it to end (a backup
// in flight aborts its session).
func (s *agentService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runAgent(ctx, s.o, s.log) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("agent loop ended", "err", err)
				return false, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				<-done
				return false, 0
			}
		}
	}
}

// backupRunner runs each due backup as `shadowvault backup --vss` (the
// diskshadow loop of a manual backup, receipt check included: VSS hears of
// success only from an upload step that verified the receipt).
func backupRunner(c *agent.Client, o *agentOpts, log *slog.Logger) agent.RunFunc {
	return func(ctx context.Context, item apiv1.PlanItem) error {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		args := []string{"backup", "--vss", "--server", c.Server, "--token", o.cf.token, "--receipt-key", o.key,
			"--host", o.host, "--vm", item.VM, "--type", item.BackupType.String(), "--schedule", item.Schedule}
		if ca := o.cf.caCertFile(); ca != "" {
			args = append(args, "--ca-cert", ca)
		}
		if item.Incremental {
			args = append(args, "--incremental")
		}
		args = append(args, "--")
		args = append(args, item.Disks...)
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		cmd.Dir = o.stateDir()
		cmd.WaitDelay = time.Minute
		err = cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ee) && ee.ExitCode() == exitBusy:
			return fmt.Errorf("backup of %s: %w", item.VM, agent.ErrBusy)
		case errors.As(err, &ee) && ee.ExitCode() == exitMismatch:
			return fmt.Errorf("backup of %s: %w", item.VM, agent.ErrVerify)
		}
		return fmt.Errorf("backup of %s: %w", item.VM, err)
	}
}

// installService creates the Windows service and starts it.
func installService(o *agentOpts, server string) int {
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return fail(fmt.Errorf("service manager (run as Administrator): %w", err))
	}
	defer m.Disconnect()
	if s, err := m.OpenService(serviceName); err == nil {
		s.Close()
		return fail(usageErrorf("service %s exists: run agent uninstall first", serviceName))
	}
	s, err := m.CreateService(serviceName, exe, mgr.Config{
		DisplayName: "shadowvault backup agent",
		Description: "Backs up this host's Hyper-V VMs to a shadowvault server as its schedules say.",
		StartType:   mgr.StartAutomatic,
	}, o.serviceArgs(server)...)
	if err != nil {
		return fail(fmt.Errorf("create service: %w", err))
	}
	defer s.Close()
	_ = s.SetRecoveryActions([]mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: 30 * time.Second}}, 24*3600)
	if err := s.Start(); err != nil {
		return fail(fmt.Errorf("start service: %w", err))
	}
	slog.Info("service installed and started", "service", serviceName, "log", filepath.Join(o.stateDir(), "agent.log"))
	return exitOK
}

// uninstallService stops the service (waiting up to two minutes for a
// backup in flight to abort) and deletes it.
func uninstallService() int {
	m, err := mgr.Connect()
	if err != nil {
		return fail(fmt.Errorf("service manager (run as Administrator): %w", err))
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fail(fmt.Errorf("service %s: %w", serviceName, err))
	}
	defer s.Close()
	if st, err := s.Control(svc.Stop); err == nil {
		for deadline := time.Now().Add(2 * time.Minute); st.State != svc.Stopped && time.Now().Before(deadline); {
			time.Sleep(time.Second)
			if st, err = s.Query(); err != nil {
				break
			}
		}
	}
	if err := s.Delete(); err != nil {
		return fail(fmt.Errorf("delete service: %w", err))
	}
	slog.Info("service removed", "service", serviceName)
	return exitOK
}
