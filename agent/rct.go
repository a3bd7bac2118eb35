package agent

import (
	"context"
	"errors"
)

// errNoRCT says resilient change tracking is not available: the agent then
// compares block digests. Reading Hyper-V's change tracking
// (QueryChangesVirtualDisk) is not built yet, on any system.
var errNoRCT = errors.New("resilient change tracking is not read by this agent")

// rctChanges would ask Hyper-V's resilient change tracking what changed
// since base; see errNoRCT.
func rctChanges(ctx context.Context, path, base string) ([]Change, error) { return nil, errNoRCT }
