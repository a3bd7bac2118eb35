package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrLocked is returned when the storage refuses to delete or change an
// object because its retention date has not passed (S3 Object Lock).
var ErrLocked = errors.New("object is locked by its retention date")

// LockMode is how strictly the storage holds a retention date.
type LockMode string

// Lock modes, as S3 names them.
const (
	// LockCompliance: nobody, the bucket's root credentials included, can
	// delete a locked object version or shorten its retention.
	LockCompliance LockMode = "COMPLIANCE"
	// LockGovernance: a user with the bypass permission can.
	LockGovernance LockMode = "GOVERNANCE"
)

// ParseLockMode reads "compliance" or "governance", in any case.
func ParseLockMode(s string) (LockMode, error) {
	switch m := LockMode(strings.ToUpper(s)); m {
	case LockCompliance, LockGovernance:
		return m, nil
	}
	return "", fmt.Errorf("lock mode %q: want compliance or governance", s)
}

// LockPolicy says which objects a backend writes locked, and for how long.
// A zero Period means the backend locks nothing.
type LockPolicy struct {
	Mode LockMode
	// Period is the retention every snapshot gets: a locked object stays
	// undeletable for at least Period after the last snapshot that needs
	// it was committed.
	Period time.Duration
	// Slack is added to every retention date the backend sets, so that an
	// object that is extended is extended at most once per Slack.
	Slack time.Duration
}

// Enabled reports whether the policy locks anything.
func (p LockPolicy) Enabled() bool { return p.Period > 0 }

// Locked reports whether objects of type t are written with a retention
// date: the objects a restore needs (packs, disk maps, manifests and the
// writer metadata) and the ones that open them (config and keys).
func Locked(t Type) bool {
	switch t {
	case TypePack, TypeDiskMap, TypeSnapshot, TypeMetadata, TypeConfig, TypeKeys:
		return true
	}
	return false
}

// PurgeStats reports what a purge of removed, locked objects did.
type PurgeStats struct {
	VersionsDeleted int   // object versions (and delete markers) deleted
	BytesFreed      int64 // bytes of the deleted versions
	VersionsLocked  int   // versions of removed objects still locked
	BytesLocked     int64 // their bytes
	// NextUnlock is the earliest retention date among the versions still
	// locked (zero when none are).
	NextUnlock time.Time
}

// Locker is a backend that can hold objects immutable until a retention
// date (S3 Object Lock). Its Put writes objects of the Locked types with a
// retention date of at least now + Period. Its Remove of a locked object
// hides the object (a delete marker) and keeps its data until Purge finds
// the retention passed.
type Locker interface {
	Backend
	// LockPolicy returns the policy; a disabled one for a backend that
	// locks nothing.
	LockPolicy() LockPolicy
	// LockedUntil returns the retention date of h's current version (zero
	// when it has none).
	LockedUntil(ctx context.Context, h Handle) (time.Time, error)
	// ExtendLock sets the retention date of h's current version to until.
	// A date earlier than the one the object has already is not an error
	// and leaves the object as it is.
	ExtendLock(ctx context.Context, h Handle, until time.Time) error
	// Purge deletes, for every object of type t, the versions that are no
	// longer current (removed or replaced objects) and whose retention has
	// passed, and the delete markers that no longer hide anything.
	Purge(ctx context.Context, t Type) (PurgeStats, error)
	// Revert makes the first stored version of every object of type t
	// for which want(name) is true its current version again, where the
	// current one is hidden (a delete marker) or has other bytes (a newer
	// version): the way back after someone with the bucket's credentials
	// deleted or overwrote objects. It returns how many it reverted.
	Revert(ctx context.Context, t Type, want func(name string) bool) (int, error)
}

// Unwrapper is a backend that wraps another one.
type Unwrapper interface {
	Unwrap() Backend
}

// LockerOf returns the Locker in b's chain of wrappers whose policy is
// enabled, or nil when nothing in the chain locks.
func LockerOf(b Backend) Locker {
	for b != nil {
		if l, ok := b.(Locker); ok && l.LockPolicy().Enabled() {
			return l
		}
		u, ok := b.(Unwrapper)
		if !ok {
			return nil
		}
		b = u.Unwrap()
	}
	return nil
}
