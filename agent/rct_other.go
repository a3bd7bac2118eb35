//go:build !windows

package agent

import "context"

// rctState returns the disk's current change tracking id; resilient change
// tracking is Hyper-V's, so there is none here.
func rctState(path string) (string, error) { return "", errNoRCT }

// rctChanges asks resilient change tracking what changed since id.
func rctChanges(ctx context.Context, path, id string, size int64) ([]Change, error) {
	return nil, errNoRCT
}
