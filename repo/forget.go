package repo

import (
	"context"
	"fmt"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// ForgetSnapshot removes one snapshot: its manifest from the backend, then
// its index record. Its chunks stay until a prune finds them unreferenced.
func (r *Repository) ForgetSnapshot(ctx context.Context, id string) error {
	if _, err := r.Snapshot(id); err != nil {
		return err
	}
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.TypeSnapshot, Name: id}); err != nil {
		return fmt.Errorf("forget snapshot %s: %w", id, err)
	}
	if err := r.idx.DeleteSnapshot(id); err != nil {
		return fmt.Errorf("forget snapshot %s: %w", id, err)
	}
	r.log.Info("snapshot forgotten", "snapshot", id)
	return nil
}
