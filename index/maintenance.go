package index

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// ForEachChunk calls fn for every indexed chunk, in one read transaction,
// in ascending order of chunk ID.
func (x *Index) ForEachChunk(fn func(id chunk.ID, loc Location) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		n := 0
		err := tx.Bucket(bucketChunks).ForEach(func(k, v []byte) error {
			if n++; n == 1024 {
				x.readMany(tx, n)
				n = 0
			}
			id := chunk.ID(k)
			loc, err := decodeLocation(id, v)
			if err != nil {
				return err
			}
			return fn(id, loc)
		})
		x.readMany(tx, n)
		return err
	})
}

// Locate looks up every chunk of ids in one read transaction, calling fn
// with each one's index (in ids), location, and whether it is indexed.
func (x *Index) Locate(ids []chunk.ID, fn func(i int, loc Location, ok bool) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChunks)
		defer func() { x.readMany(tx, len(ids)) }()
		for i, id := range ids {
			var loc Location
			v := b.Get(id[:])
			if v != nil {
				var err error
				if loc, err = decodeLocation(id, v); err != nil {
					return err
				}
			}
			if err := fn(i, loc, v != nil); err != nil {
				return err
			}
		}
		return nil
	})
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
