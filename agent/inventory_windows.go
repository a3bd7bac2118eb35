//go:build windows

package agent

import (
	"context"
	"fmt"
	"os/exec"
)

// runHyperVScript runs HyperVScript in Windows PowerShell.
func runHyperVScript(ctx context.Context) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "powershell.exe", "-NoProfile", "-NonInteractive", "-Command", HyperVScript)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("Get-VM: %w: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("Get-VM: %w", err)
	}
	return out, nil
}
