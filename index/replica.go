package index

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// The replica map: for each source repository a sync copies from, which
// of this repository's chunks holds the content of a source chunk ID.
// Two encrypted repositories key their chunk IDs differently, so the same
// content has one ID there and another here; the map lets a sync skip a
// chunk it copied before without fetching its bytes again. An entry is
// written in the same transaction as the index entry of the chunk it
// names (AddPackAliased) or after it, never before: a crash loses at
// worst the knowledge of a chunk, never makes the map name a chunk that
// is not stored. An entry may outlive its chunk (a prune removed it): a
// reader checks the chunk is indexed (ReplicaLookup does).
//
// Layout: bucket "replicas", one nested bucket per source repository id,
// key source chunk ID (32 bytes), value this repository's chunk ID. Added
// in schema 1 without a migration; a rebuild of the index leaves it
// empty-handed only for chunks it no longer indexes.

var bucketReplicas = []byte("replicas")

// Alias says that source chunk Src of repository Source is stored here
// as chunk Dst.
type Alias struct {
	Source string
	Src    chunk.ID
	Dst    chunk.ID
}

// PutAliases records aliases whose chunks are indexed, in one transaction.
func (x *Index) PutAliases(as []Alias) error {
	if len(as) == 0 {
		return nil
	}
	return x.db.Update(func(tx *bolt.Tx) error { return putAliasesTx(tx, as) })
}

func putAliasesTx(tx *bolt.Tx, as []Alias) error {
	top, err := tx.CreateBucketIfNotExists(bucketReplicas)
	if err != nil {
		return err
	}
	chunks := tx.Bucket(bucketChunks)
	var b *bolt.Bucket
	var cur string
	for _, a := range as {
		if a.Source == "" {
			return fmt.Errorf("alias of chunk %s: no source", a.Src.Short())
		}
		if chunks.Get(a.Dst[:]) == nil {
			continue // never name a chunk that is not indexed
		}
		if b == nil || a.Source != cur {
			if b, err = top.CreateBucketIfNotExists([]byte(a.Source)); err != nil {
				return err
			}
			cur = a.Source
		}
		if err := b.Put(a.Src[:], a.Dst[:]); err != nil {
			return err
		}
	}
	return nil
}

// AddPackAliased is AddPack, and records the aliases of chunks of the
// pack in the same transaction.
func (x *Index) AddPackAliased(packID chunk.ID, size int64, entries []Entry, as []Alias, created time.Time) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if err := addPackTx(tx, packID, size, entries, created); err != nil || len(as) == 0 {
			return err
		}
		return putAliasesTx(tx, as)
	})
}

// ReplicaLookup calls fn for each of srcs with the chunk of this
// repository that holds it, if the map knows one that is indexed (ok), in
// one read transaction.
func (x *Index) ReplicaLookup(source string, srcs []chunk.ID, fn func(i int, dst chunk.ID, ok bool)) error {
	return x.db.View(func(tx *bolt.Tx) error {
		var b *bolt.Bucket
		if top := tx.Bucket(bucketReplicas); top != nil {
			b = top.Bucket([]byte(source))
		}
		chunks := tx.Bucket(bucketChunks)
		for i, s := range srcs {
			var dst chunk.ID
			ok := false
			if b != nil {
				if v := b.Get(s[:]); len(v) == chunk.IDSize {
					copy(dst[:], v)
					ok = chunks.Get(dst[:]) != nil
				}
			}
			fn(i, dst, ok)
		}
		return nil
	})
}

// ReplicaCount returns the number of entries of a source's map.
func (x *Index) ReplicaCount(source string) (int, error) {
	n := 0
	err := x.db.View(func(tx *bolt.Tx) error {
		if top := tx.Bucket(bucketReplicas); top != nil {
			if b := top.Bucket([]byte(source)); b != nil {
				n = b.Stats().KeyN
			}
		}
		return nil
	})
	return n, err
}

// bucketReplicaSnaps records, per source repository, the snapshot ids a
// sync copied from it (value: when, Unix seconds), so that a copy the
// target's own retention forgot is not copied again.
var bucketReplicaSnaps = []byte("replicasnaps")

// PutReplicaSnapshot records that snapshot id of source was copied.
func (x *Index) PutReplicaSnapshot(source, id string, when time.Time) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(bucketReplicaSnaps)
		if err != nil {
			return err
		}
		b, err := top.CreateBucketIfNotExists([]byte(source))
		if err != nil {
			return err
		}
		return b.Put([]byte(id), binary.LittleEndian.AppendUint64(nil, uint64(when.Unix())))
	})
}

// ReplicaSnapshotCopied reports whether snapshot id of source was copied
// here before.
func (x *Index) ReplicaSnapshotCopied(source, id string) (bool, error) {
	found := false
	err := x.db.View(func(tx *bolt.Tx) error {
		if top := tx.Bucket(bucketReplicaSnaps); top != nil {
			if b := top.Bucket([]byte(source)); b != nil {
				found = b.Get([]byte(id)) != nil
			}
		}
		return nil
	})
	return found, err
}

// DeleteAliases removes the entries of srcs from source's map (a copy
// that did not verify: its chunks are fetched again next time).
func (x *Index) DeleteAliases(source string, srcs []chunk.ID) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketReplicas)
		if top == nil {
			return nil
		}
		b := top.Bucket([]byte(source))
		if b == nil {
			return nil
		}
		for _, s := range srcs {
			if err := b.Delete(s[:]); err != nil {
				return err
			}
		}
		return nil
	})
}
