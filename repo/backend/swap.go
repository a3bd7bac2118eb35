package backend

import (
	"context"
	"errors"
	"strings"
)

// ErrPrecondition is returned by a conditional write whose condition did
// not hold: the object exists (create) or changed (swap).
var ErrPrecondition = errors.New("the object changed: condition failed")

// Swapper is a backend that writes small objects with compare-and-swap:
// the storage itself decides which of two writers wins (S3 conditional
// writes: If-None-Match: * and If-Match: ETag). A cluster's maintenance
// lease is built on it.
type Swapper interface {
	// GetTagged reads the whole object h and its version tag (ETag);
	// ErrNotFound when there is none.
	GetTagged(ctx context.Context, h Handle) (data []byte, tag string, err error)
	// PutIf stores data under h only if h's current tag is match, or, with
	// match "", only if h does not exist. It returns the new tag, or
	// ErrPrecondition when the condition did not hold.
	PutIf(ctx context.Context, h Handle, data []byte, match string) (tag string, err error)
}

// SwapperOf returns the Swapper in b's chain of wrappers, or nil. The
// objects it writes bypass every wrapper above it (no sealing, no retry).
func SwapperOf(b Backend) Swapper {
	for b != nil {
		if s, ok := b.(Swapper); ok {
			return s
		}
		u, ok := b.(Unwrapper)
		if !ok {
			return nil
		}
		b = u.Unwrap()
	}
	return nil
}

// ListerFrom is a backend that lists the objects of a type whose names
// sort after a given one, without reading the names before it (S3
// StartAfter): how a node reads only the newest index objects.
type ListerFrom interface {
	ListFrom(ctx context.Context, t Type, after string, fn func(ObjectInfo) error) error
}

// ListFrom calls fn for every object of type t whose name sorts after
// after, through the ListerFrom in b's chain when there is one, else
// through a full List of b filtered by name.
func ListFrom(ctx context.Context, b Backend, t Type, after string, fn func(ObjectInfo) error) error {
	for x := b; x != nil; {
		if l, ok := x.(ListerFrom); ok {
			return l.ListFrom(ctx, t, after, fn)
		}
		u, ok := x.(Unwrapper)
		if !ok {
			break
		}
		x = u.Unwrap()
	}
	return b.List(ctx, t, func(fi ObjectInfo) error {
		if strings.Compare(fi.Handle.Name, after) <= 0 {
			return nil
		}
		return fn(fi)
	})
}
