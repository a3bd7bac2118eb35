package index

import (
	"bytes"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// PutSnapshot commits a snapshot record and the session that produced it, in
// one transaction. record is the snapshot's manifest as JSON.
func (x *Index) PutSnapshot(id, session string, record []byte) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketSnapshots).Put([]byte(id), record); err != nil {
			return err
		}
		if session == "" {
			return nil
		}
		return tx.Bucket(bucketSessions).Put([]byte(session), []byte(id))
	})
}

// Snapshot returns a snapshot's record.
func (x *Index) Snapshot(id string) ([]byte, error) {
	var rec []byte
	err := x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSnapshots).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("snapshot %s: %w", id, ErrNotFound)
		}
		rec = append([]byte(nil), v...)
		return nil
	})
	return rec, err
}

// Snapshots calls fn with every snapshot record, ordered by id.
func (x *Index) Snapshots(fn func(id string, record []byte) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSnapshots).ForEach(func(k, v []byte) error {
			return fn(string(k), v)
		})
	})
}

// DeleteSnapshot removes a snapshot record and its session mapping.
func (x *Index) DeleteSnapshot(id string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if err := deleteSessionsOf(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bucketSnapshots).Delete([]byte(id))
	})
}

// SessionSnapshot returns the snapshot a completed session produced.
func (x *Index) SessionSnapshot(session string) (string, error) {
	var id string
	err := x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(session))
		if v == nil {
			return fmt.Errorf("session %s: %w", session, ErrNotFound)
		}
		id = string(v)
		return nil
	})
	return id, err
}

// PutToken stores a token record under its id.
func (x *Index) PutToken(id string, record []byte) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).Put([]byte(id), record)
	})
}

// DeleteToken removes a token record.
func (x *Index) DeleteToken(id string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}

// Tokens calls fn with every token record.
func (x *Index) Tokens(fn func(id string, record []byte) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			return fn(string(k), v)
		})
	})
}

// Reset empties the chunk, pack, snapshot and session buckets. Tokens,
// policies and pending forgets are kept.
func (x *Index) Reset() error {
	return x.db.Update(resetTx)
}

func resetTx(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketChunks, bucketPacks, bucketSnapshots, bucketSessions} {
		if err := tx.DeleteBucket(b); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
	}
	return nil
}

// SnapshotRecord is a snapshot as the catalogue keeps it: its manifest and
// the session that produced it.
type SnapshotRecord struct {
	ID      string
	Session string
	Record  []byte
}

// Catalogue is everything a rebuild found in the backend.
type Catalogue struct {
	Packs     []NewPack
	Snapshots []SnapshotRecord
	// Protected are the snapshots to mark protected; every other mark goes.
	Protected map[string]bool
}

// Replace makes the chunks, packs, snapshots, sessions and protection marks
// those of c, in one transaction: a crash or an error leaves the index as
// it was, never half rebuilt. Tokens, policies and pending forgets stay.
func (x *Index) Replace(c Catalogue) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if err := resetTx(tx); err != nil {
			return err
		}
		if err := putChunksSorted(tx, c.Packs); err != nil {
			return err
		}
		for _, p := range c.Packs {
			if err := putPackRecord(tx, PackInfo{ID: p.Info.ID, Size: p.Info.Size, Count: len(p.Entries), Created: p.Info.Created}); err != nil {
				return err
			}
		}
		snaps, sessions := tx.Bucket(bucketSnapshots), tx.Bucket(bucketSessions)
		for _, s := range c.Snapshots {
			if err := snaps.Put([]byte(s.ID), s.Record); err != nil {
				return err
			}
			if s.Session != "" {
				if err := sessions.Put([]byte(s.Session), []byte(s.ID)); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteBucket(bucketProtected); err != nil {
			return err
		}
		prot, err := tx.CreateBucket(bucketProtected)
		if err != nil {
			return err
		}
		for id := range c.Protected {
			if err := prot.Put([]byte(id), []byte{1}); err != nil {
				return err
			}
		}
		return nil
	})
}

// putChunksSorted indexes the chunks of packs into the emptied chunks
// bucket in key order; a chunk in several packs goes to the first. bbolt
// splits nodes only at commit, so random inserts into one transaction
// move the whole growing node every time (a million chunks took 13
// minutes); in key order each insert appends.
func putChunksSorted(tx *bolt.Tx, packs []NewPack) error {
	type ref struct {
		pack, entry int32
	}
	n := 0
	for _, p := range packs {
		n += len(p.Entries)
	}
	refs := make([]ref, 0, n)
	for pi, p := range packs {
		for ei := range p.Entries {
			refs = append(refs, ref{int32(pi), int32(ei)})
		}
	}
	id := func(r ref) []byte { return packs[r.pack].Entries[r.entry].ID[:] }
	sort.SliceStable(refs, func(i, j int) bool { return bytes.Compare(id(refs[i]), id(refs[j])) < 0 })
	chunks := tx.Bucket(bucketChunks)
	for i, r := range refs {
		if i > 0 && bytes.Equal(id(refs[i-1]), id(r)) {
			continue // the first pack holding it wins
		}
		p := packs[r.pack]
		if err := chunks.Put(id(r), encodeLocation(p.Info.ID, p.Entries[r.entry])); err != nil {
			return err
		}
	}
	return nil
}
