package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Type is the kind of an object in the repository.
type Type string

// Object types. Each lives in its own namespace (a directory or key prefix).
const (
	TypeConfig   Type = "config"
	TypePack     Type = "packs"
	TypeDiskMap  Type = "diskmaps"
	TypeSnapshot Type = "snapshots"
	TypeKeys     Type = "keys"
	TypeProtect  Type = "protect"   // an empty marker per protected snapshot
	TypeToken    Type = "tokens"    // API token records (hashed secrets), by token id
	TypePolicy   Type = "policies"  // retention policies, by BLAKE3 of the name
	TypeMetadata Type = "metadata"  // a snapshot's VSS writer metadata document, by snapshot id
	TypeDigests  Type = "digests"   // block digests of a disk's virtual content, by disk map id
	TypeSchedule Type = "schedules" // backup schedules, by BLAKE3 of the name
	TypeJob      Type = "jobs"      // finished jobs of the job history (record and log), by job id
	// A cluster of nodes (docs/SCALE.md): each pack's index object, the
	// prune records, and the maintenance lease.
	TypeIndex   Type = "index"   // a pack's chunk entries, by <stamp>-<node>-<pack>
	TypeCluster Type = "cluster" // prune intents and records of deleted packs
	TypeLease   Type = "leases"  // leases taken by compare-and-swap (unsealed)
)

// Types lists every object type, in the order a rebuild reads them.
var Types = []Type{TypeConfig, TypePack, TypeDiskMap, TypeSnapshot, TypeKeys, TypeProtect, TypeToken, TypePolicy, TypeMetadata, TypeDigests, TypeSchedule, TypeJob, TypeIndex, TypeCluster, TypeLease}

// Handle names one object.
type Handle struct {
	Type Type
	Name string
}

func (h Handle) String() string { return string(h.Type) + "/" + h.Name }

// Valid reports whether the handle can name an object: a known type and a name
// made of [0-9a-zA-Z._-], not starting with a dot.
func (h Handle) Valid() error {
	known := false
	for _, t := range Types {
		known = known || t == h.Type
	}
	if !known {
		return fmt.Errorf("handle %s: unknown type: %w", h, ErrInvalidHandle)
	}
	if h.Name == "" || len(h.Name) > 200 || h.Name[0] == '.' {
		return fmt.Errorf("handle %s: bad name: %w", h, ErrInvalidHandle)
	}
	for _, c := range h.Name {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("handle %s: bad name: %w", h, ErrInvalidHandle)
		}
	}
	return nil
}

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	ErrNotFound      = errors.New("object not found")
	ErrInvalidRange  = errors.New("read outside the object")
	ErrInvalidHandle = errors.New("invalid handle")
	ErrPermission    = errors.New("permission denied by the storage")
	ErrTransient     = errors.New("transient storage error")
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Handle Handle
	Size   int64
}

// Backend is the storage a repository lives in.
type Backend interface {
	// Put stores size bytes read from r under h, durably, before returning.
	// r may be read more than once: a retrying implementation seeks to 0.
	Put(ctx context.Context, h Handle, r io.ReadSeeker, size int64) error
	// ReadAt reads len(p) bytes of object h at off. A read that extends past
	// the end of the object returns ErrInvalidRange; a missing object
	// ErrNotFound.
	ReadAt(ctx context.Context, h Handle, p []byte, off int64) (int, error)
	// Stat returns the size of h, or ErrNotFound.
	Stat(ctx context.Context, h Handle) (ObjectInfo, error)
	// List calls fn for every object of type t, in no particular order. An
	// error from fn stops the listing and is returned.
	List(ctx context.Context, t Type, fn func(ObjectInfo) error) error
	// Remove deletes h. Removing a missing object is not an error.
	Remove(ctx context.Context, h Handle) error
}

// WholeReader is a backend that reads whole objects better than Stat and
// ReadAt do (the sealed wrapper: one read, then the object is checked).
type WholeReader interface {
	ReadAll(ctx context.Context, h Handle) ([]byte, error)
}

// ReadAll reads a whole object.
func ReadAll(ctx context.Context, b Backend, h Handle) ([]byte, error) {
	if w, ok := b.(WholeReader); ok {
		return w.ReadAll(ctx, h)
	}
	fi, err := b.Stat(ctx, h)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, fi.Size)
	if fi.Size == 0 {
		return buf, nil
	}
	if _, err := b.ReadAt(ctx, h, buf, 0); err != nil {
		return nil, err
	}
	return buf, nil
}
