//go:build !windows

package agent

import "context"

func runHyperVScript(context.Context) ([]byte, error) { return nil, ErrNoHyperV }
