package index

import (
	"bytes"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// NewPack is a pack a prune wrote, with the chunks it holds.
type NewPack struct {
	Info    PackInfo
	Entries []Entry
}

// Rewrite is the index side of a prune: the chunks of Remove packs are
// dropped from the index unless a pack of Add holds them, which becomes
// their new location.
type Rewrite struct {
	Remove []chunk.ID
	Add    []NewPack
}

// rewriteBatch bounds the chunk entries one transaction of ApplyRewrite
// changes. bbolt keeps a copy of every page a transaction changes, and of
// its elements, until the commit: a prune of a million chunks changes
// entries on almost every page of the chunks bucket, and one transaction
// would hold the whole bucket again in memory (250 MB for a million
// chunks). With this bound a transaction holds a few MB, and its commit,
// which reads every page it changed again, maps little of the index.
var rewriteBatch = 4096

// testHookRewriteTx, when set, runs before each transaction of
// ApplyRewrite (numbered from 0); an error stops the rewrite there.
var testHookRewriteTx func(tx int) error

// ApplyRewrite applies r in several transactions, each of which leaves an
// index that is sound: first the records of the Add packs; then the chunks
// of the Remove packs, in key order and at most rewriteBatch of them a
// transaction, move to their Add pack or go; last the records of the
// Remove packs go. Stopped at any point, every chunk entry points at an
// indexed pack, and every chunk that r keeps is indexed (in its old pack
// or its new one); applying r again completes it. A pack both in Remove
// and in Add (a rewrite that reproduced it byte for byte) stays. The
// caller must delete no Remove pack before ApplyRewrite returns.
func (x *Index) ApplyRewrite(r Rewrite) (removedChunks int, err error) {
	gone := make(map[chunk.ID]bool, len(r.Remove))
	for _, p := range r.Remove {
		gone[p] = true
	}
	for _, np := range r.Add {
		delete(gone, np.Info.ID)
	}
	moves := sortMoves(r.Add)
	txn := 0
	update := func(fn func(tx *bolt.Tx) error) error {
		if testHookRewriteTx != nil {
			if err := testHookRewriteTx(txn); err != nil {
				return err
			}
		}
		txn++
		return x.db.Update(fn)
	}
	if len(r.Add) > 0 {
		err := update(func(tx *bolt.Tx) error {
			for _, np := range r.Add {
				if err := putPackRecord(tx, np.Info); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	// from is the first key the next transaction looks at (nil: the first
	// key), m the first move it may apply: keys only grow.
	var from []byte
	m := 0
	for done := false; !done; {
		err := update(func(tx *bolt.Tx) error {
			chunks := tx.Bucket(bucketChunks)
			c := chunks.Cursor()
			var k, v []byte
			if from == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(from)
			}
			changed, read := 0, 0
			defer func() { x.readMany(tx, read) }()
			for ; k != nil; k, v = c.Next() {
				if read++; read == 1024 {
					x.readMany(tx, read)
					read = 0
				}
				if len(v) < 32 || !gone[chunk.ID(v[:32])] {
					continue
				}
				if changed == rewriteBatch {
					from = bytes.Clone(k)
					return nil
				}
				changed++
				for m < len(moves) && bytes.Compare(moves[m].id(r.Add), k) < 0 {
					m++
				}
				if m < len(moves) && bytes.Equal(moves[m].id(r.Add), k) {
					np := r.Add[moves[m].pack]
					if err := chunks.Put(k, encodeLocation(np.Info.ID, np.Entries[moves[m].entry])); err != nil {
						return err
					}
					continue
				}
				if err := c.Delete(); err != nil {
					return err
				}
				removedChunks++
			}
			done = true
			return nil
		})
		if err != nil {
			return removedChunks, err
		}
		// The commit read every page the transaction changed again (to
		// write their copies): those are mapped now.
		x.release()
	}
	err = update(func(tx *bolt.Tx) error {
		packs := tx.Bucket(bucketPacks)
		for _, p := range r.Remove {
			if !gone[p] {
				continue
			}
			if err := packs.Delete(p[:]); err != nil {
				return err
			}
		}
		return nil
	})
	return removedChunks, err
}

// move names an entry of a new pack: r.Add[pack].Entries[entry].
type move struct{ pack, entry int32 }

func (m move) id(add []NewPack) []byte { return add[m.pack].Entries[m.entry].ID[:] }

// sortMoves returns every entry of the new packs, sorted by chunk ID (8
// bytes an entry, rather than a map of a hundred).
func sortMoves(add []NewPack) []move {
	var n int
	for _, np := range add {
		n += len(np.Entries)
	}
	moves := make([]move, 0, n)
	for p, np := range add {
		for e := range np.Entries {
			moves = append(moves, move{int32(p), int32(e)})
		}
	}
	slices.SortFunc(moves, func(a, b move) int { return bytes.Compare(a.id(add), b.id(add)) })
	return moves
}
