package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// Bucket names.
var (
	bucketMeta      = []byte("meta")
	bucketChunks    = []byte("chunks")
	bucketPacks     = []byte("packs")
	bucketSnapshots = []byte("snapshots")
	bucketSessions  = []byte("sessions")
	bucketTokens    = []byte("tokens")
	bucketPolicies  = []byte("policies")
	bucketProtected = []byte("protected")
	bucketOrphans   = []byte("orphans")
	// bucketForgets holds the records of snapshots being forgotten: the
	// forget is decided (the snapshot is unlisted) and its manifest may
	// still be in the backend. Added in schema 1 without a migration: an
	// index without the bucket has no forget in progress.
	bucketForgets = []byte("forgets")
	// bucketSchedules (backup schedules, by name) and bucketInventory
	// (each host's last inventory report, by host) were added in schema 1
	// without a migration: Open creates them, empty, in an older index.
	bucketSchedules = []byte("schedules")
	bucketInventory = []byte("inventory")
	// bucketJobs and bucketJobLogs are the job history (jobs.go), added
	// in schema 1 the same way.
	bucketJobs    = []byte("jobs")
	bucketJobLogs = []byte("joblogs")
	allBuckets    = [][]byte{bucketMeta, bucketChunks, bucketPacks, bucketSnapshots, bucketSessions, bucketTokens,
		bucketPolicies, bucketProtected, bucketOrphans, bucketForgets, bucketSchedules, bucketInventory, bucketJobs, bucketJobLogs, bucketLocks}
)

// SchemaVersion is the layout of the buckets; it is checked at Open.
const SchemaVersion = 1

// ErrNotFound is returned for a missing snapshot, session or token.
var ErrNotFound = errors.New("not found in index")

// Entry is a chunk's place in its pack, as the pack's trailer lists it.
// Its fields are those of the pack format's entry, so that the two convert
// into each other; the index keeps its own type so that it depends on
// chunk alone.
type Entry struct {
	ID          chunk.ID
	Offset      uint64
	Length      uint32 // stored bytes
	RawLength   uint32
	Compression chunk.Compression
}

// Location is where a chunk is stored.
type Location struct {
	Pack  chunk.ID
	Entry Entry
}

// Index is an open bbolt index.
type Index struct {
	db *bolt.DB
	// reads counts the chunk entries maintenance read since the mapping
	// was last released (resident.go).
	reads atomic.Int64
}

// Open opens or creates the index file at path.
func Open(path string) (*Index, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get([]byte("schema")); v != nil {
			if got := binary.LittleEndian.Uint32(v); got != SchemaVersion {
				return fmt.Errorf("index schema version %d, this server reads %d", got, SchemaVersion)
			}
			return nil
		}
		return meta.Put([]byte("schema"), binary.LittleEndian.AppendUint32(nil, SchemaVersion))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	return &Index{db: db}, nil
}

// Close closes the database.
func (x *Index) Close() error { return x.db.Close() }

func encodeLocation(packID chunk.ID, e Entry) []byte {
	v := make([]byte, 0, 32+8+4+4+1)
	v = append(v, packID[:]...)
	v = binary.LittleEndian.AppendUint64(v, e.Offset)
	v = binary.LittleEndian.AppendUint32(v, e.Length)
	v = binary.LittleEndian.AppendUint32(v, e.RawLength)
	return append(v, byte(e.Compression))
}

func decodeLocation(id chunk.ID, v []byte) (Location, error) {
	if len(v) != 49 {
		return Location{}, fmt.Errorf("index entry for %s: %d bytes", id.Short(), len(v))
	}
	var l Location
	copy(l.Pack[:], v)
	l.Entry = Entry{
		ID:          id,
		Offset:      binary.LittleEndian.Uint64(v[32:]),
		Length:      binary.LittleEndian.Uint32(v[40:]),
		RawLength:   binary.LittleEndian.Uint32(v[44:]),
		Compression: chunk.Compression(v[48]),
	}
	return l, nil
}

// Lookup returns where chunk id is stored.
func (x *Index) Lookup(id chunk.ID) (Location, bool, error) {
	var l Location
	var found bool
	err := x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketChunks).Get(id[:])
		if v == nil {
			return nil
		}
		found = true
		var err error
		l, err = decodeLocation(id, v)
		return err
	})
	return l, found, err
}

// Has reports whether chunk id is indexed.
func (x *Index) Has(id chunk.ID) (bool, error) {
	var found bool
	err := x.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketChunks).Get(id[:]) != nil
		return nil
	})
	return found, err
}

// AddPack records a durable pack and all its chunks in one transaction.
// A chunk already indexed in another pack keeps its first location.
// created is when the pack was written (for the prune grace window).
func (x *Index) AddPack(packID chunk.ID, size int64, entries []Entry, created time.Time) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		return addPackTx(tx, packID, size, entries, created)
	})
}

func addPackTx(tx *bolt.Tx, packID chunk.ID, size int64, entries []Entry, created time.Time) error {
	chunks := tx.Bucket(bucketChunks)
	for _, e := range entries {
		if chunks.Get(e.ID[:]) != nil {
			continue
		}
		if err := chunks.Put(e.ID[:], encodeLocation(packID, e)); err != nil {
			return err
		}
	}
	return putPackRecord(tx, PackInfo{ID: packID, Size: size, Count: len(entries), Created: created})
}

func putPackRecord(tx *bolt.Tx, p PackInfo) error {
	v := binary.LittleEndian.AppendUint64(nil, uint64(p.Size))
	v = binary.LittleEndian.AppendUint32(v, uint32(p.Count))
	v = binary.LittleEndian.AppendUint64(v, uint64(p.Created.Unix()))
	return tx.Bucket(bucketPacks).Put(p.ID[:], v)
}

func decodePackRecord(k, v []byte) PackInfo {
	var p PackInfo
	copy(p.ID[:], k)
	if len(v) >= 12 {
		p.Size = int64(binary.LittleEndian.Uint64(v))
		p.Count = int(binary.LittleEndian.Uint32(v[8:]))
	}
	if len(v) >= 20 {
		p.Created = time.Unix(int64(binary.LittleEndian.Uint64(v[12:])), 0)
	}
	return p
}

// PackInfo describes an indexed pack.
type PackInfo struct {
	ID      chunk.ID
	Size    int64
	Count   int
	Created time.Time // zero when unknown
}

// Packs calls fn for every indexed pack.
func (x *Index) Packs(fn func(PackInfo) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPacks).ForEach(func(k, v []byte) error {
			return fn(decodePackRecord(k, v))
		})
	})
}

// HasPack tells whether a pack is indexed.
func (x *Index) HasPack(id chunk.ID) (bool, error) {
	var ok bool
	err := x.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketPacks).Get(id[:]) != nil
		return nil
	})
	return ok, err
}

// Counts returns the number of indexed chunks and packs, and the packs' bytes.
func (x *Index) Counts() (chunks, packs int, packBytes int64, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		// A walk of the keys, not Stats: it reads every page too, but
		// releases the mapping on the way (resident.go).
		c, read := tx.Bucket(bucketChunks).Cursor(), 0
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			chunks++
			if read++; read == 1024 {
				x.readMany(tx, read)
				read = 0
			}
		}
		x.readMany(tx, read)
		return tx.Bucket(bucketPacks).ForEach(func(k, v []byte) error {
			packs++
			if len(v) >= 8 {
				packBytes += int64(binary.LittleEndian.Uint64(v))
			}
			return nil
		})
	})
	return chunks, packs, packBytes, err
}

// FirstMissing calls each with a function that looks chunk IDs up, all in
// one read transaction, and returns the first ID not indexed (ok false).
func (x *Index) FirstMissing(each func(check func(chunk.ID))) (missing chunk.ID, ok bool, err error) {
	ok = true
	err = x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChunks)
		each(func(id chunk.ID) {
			if ok && b.Get(id[:]) == nil {
				missing, ok = id, false
			}
		})
		return nil
	})
	return missing, ok, err
}

// Missing returns the IDs of ids that are not indexed, in one read
// transaction.
func (x *Index) Missing(ids []chunk.ID) ([]chunk.ID, error) {
	var out []chunk.ID
	err := x.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChunks)
		for _, id := range ids {
			if b.Get(id[:]) == nil {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, err
}
