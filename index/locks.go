package index

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// bucketLocks caches the retention dates of locked backend objects
// (S3 Object Lock), by handle ("packs/<id>"), as Unix seconds. Each date
// is a lower bound of the object's real retention: it is recorded only
// after the storage confirmed it. Added in schema 1 without a migration:
// a missing entry only costs one request to the storage.
var bucketLocks = []byte("locks")

// LockedUntil returns the cached retention dates of the objects named by
// keys; keys without an entry are absent from the result.
func (x *Index) LockedUntil(keys []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(keys))
	err := x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		for _, k := range keys {
			if v := b.Get([]byte(k)); len(v) == 8 {
				out[k] = time.Unix(int64(binary.LittleEndian.Uint64(v)), 0).UTC()
			}
		}
		return nil
	})
	return out, err
}

// SetLockedUntil records retention dates, keeping the later one where an
// entry exists.
func (x *Index) SetLockedUntil(dates map[string]time.Time) error {
	if len(dates) == 0 {
		return nil
	}
	return x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		for k, t := range dates {
			if v := b.Get([]byte(k)); len(v) == 8 && int64(binary.LittleEndian.Uint64(v)) >= t.Unix() {
				continue
			}
			if err := b.Put([]byte(k), binary.LittleEndian.AppendUint64(nil, uint64(t.Unix()))); err != nil {
				return err
			}
		}
		return nil
	})
}

// PacksOf returns the packs holding the chunks each reports, in one read
// transaction. Chunks that are not indexed are skipped (the caller checked
// them before).
func (x *Index) PacksOf(each func(report func(chunk.ID))) (map[chunk.ID]struct{}, error) {
	packs := make(map[chunk.ID]struct{})
	err := x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChunks)
		var ferr error
		each(func(id chunk.ID) {
			if ferr != nil {
				return
			}
			if v := b.Get(id[:]); v != nil {
				loc, err := decodeLocation(id, v)
				if err != nil {
					ferr = err
					return
				}
				packs[loc.Pack] = struct{}{}
			}
		})
		return ferr
	})
	return packs, err
}
