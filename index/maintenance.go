package index

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// ForEachChunk calls fn for every indexed chunk, in one read transaction.
func (x *Index) ForEachChunk(fn func(id chunk.ID, loc Location) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChunks).ForEach(func(k, v []byte) error {
			id := chunk.ID(k)
			loc, err := decodeLocation(id, v)
			if err != nil {
				return err
			}
			return fn(id, loc)
		})
	})
}

// NewPack is a pack a prune wrote, with the chunks it holds.
type NewPack struct {
	Info    PackInfo
	Entries []Entry
}

// Rewrite is the index side of a prune, applied in one transaction: the
// chunks of Remove packs are dropped from the index unless a pack of Add
// holds them, which becomes their new location.
type Rewrite struct {
	Remove []chunk.ID
	Add    []NewPack
}

// ApplyRewrite applies r atomically. A pack both in Remove and in Add (a
// rewrite that reproduced it byte for byte) stays.
func (x *Index) ApplyRewrite(r Rewrite) (removedChunks int, err error) {
	gone := make(map[chunk.ID]bool, len(r.Remove))
	for _, p := range r.Remove {
		gone[p] = true
	}
	moved := map[chunk.ID][]byte{}
	for _, np := range r.Add {
		delete(gone, np.Info.ID)
	}
	for _, np := range r.Add {
		for _, e := range np.Entries {
			moved[e.ID] = encodeLocation(np.Info.ID, e)
		}
	}
	err = x.db.Update(func(tx *bolt.Tx) error {
		chunks := tx.Bucket(bucketChunks)
		c := chunks.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) < 32 || !gone[chunk.ID(v[:32])] {
				continue
			}
			if loc, ok := moved[chunk.ID(k)]; ok {
				if err := chunks.Put(k, loc); err != nil {
					return err
				}
				continue
			}
			if err := c.Delete(); err != nil {
				return err
			}
			removedChunks++
		}
		for _, np := range r.Add {
			if err := putPackRecord(tx, np.Info); err != nil {
				return err
			}
		}
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

// PutPolicy stores a retention policy (JSON) under name.
func (x *Index) PutPolicy(name string, record []byte) error {
	return x.put(bucketPolicies, name, record)
}

// DeletePolicy removes a policy.
func (x *Index) DeletePolicy(name string) error { return x.del(bucketPolicies, name) }

// Policies calls fn for every stored policy.
func (x *Index) Policies(fn func(name string, record []byte) error) error {
	return x.each(bucketPolicies, fn)
}

// SetProtected marks or unmarks a snapshot as protected.
func (x *Index) SetProtected(id string, on bool) error {
	if !on {
		return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketProtected).Delete([]byte(id)) })
	}
	return x.put(bucketProtected, id, []byte{1})
}

// Protected returns the protected snapshot ids.
func (x *Index) Protected() (map[string]bool, error) {
	out := map[string]bool{}
	err := x.each(bucketProtected, func(id string, _ []byte) error {
		out[id] = true
		return nil
	})
	return out, err
}

// Orphans returns packs seen in the backend but not in the index, with when
// they were first seen.
func (x *Index) Orphans() (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := x.each(bucketOrphans, func(name string, v []byte) error {
		if len(v) == 8 {
			out[name] = time.Unix(int64(binary.LittleEndian.Uint64(v)), 0)
		}
		return nil
	})
	return out, err
}

// SetOrphans replaces the orphan records.
func (x *Index) SetOrphans(o map[string]time.Time) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketOrphans); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketOrphans)
		if err != nil {
			return err
		}
		for name, t := range o {
			if err := b.Put([]byte(name), binary.LittleEndian.AppendUint64(nil, uint64(t.Unix()))); err != nil {
				return err
			}
		}
		return nil
	})
}

func (x *Index) put(bucket []byte, key string, v []byte) error {
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), v) })
}

func (x *Index) del(bucket []byte, key string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte(key)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(key))
	})
}

func (x *Index) each(bucket []byte, fn func(string, []byte) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// AddPacks records several durable packs in one transaction (a rebuild
// adds thousands; one transaction each would spend its time in fsync).
func (x *Index) AddPacks(packs []NewPack) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		for _, p := range packs {
			if err := addPackTx(tx, p.Info.ID, p.Info.Size, p.Entries, p.Info.Created); err != nil {
				return err
			}
		}
		return nil
	})
}
