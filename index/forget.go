package index

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// BeginForget unlists a snapshot and records the forget as pending, in one
// transaction: from then on the snapshot is gone for every reader, and
// whoever finds the pending record (the same call, or the next start after
// a crash) removes its manifest from the backend and calls EndForget.
func (x *Index) BeginForget(id string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		rec := tx.Bucket(bucketSnapshots).Get([]byte(id))
		if rec == nil {
			return fmt.Errorf("snapshot %s: %w", id, ErrNotFound)
		}
		if err := tx.Bucket(bucketForgets).Put([]byte(id), rec); err != nil {
			return err
		}
		if err := deleteSessionsOf(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bucketSnapshots).Delete([]byte(id))
	})
}

// EndForget clears a pending forget once its manifest is gone.
func (x *Index) EndForget(id string) error {
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketForgets).Delete([]byte(id)) })
}

// PendingForgets returns the snapshots whose forget was decided and not
// finished.
func (x *Index) PendingForgets() (map[string]bool, error) {
	out := map[string]bool{}
	err := x.each(bucketForgets, func(id string, _ []byte) error {
		out[id] = true
		return nil
	})
	return out, err
}

func deleteSessionsOf(tx *bolt.Tx, snapshot string) error {
	c := tx.Bucket(bucketSessions).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if string(v) == snapshot {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}
