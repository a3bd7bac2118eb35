package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
)

var _ backend.Locker = (*Backend)(nil)

// LockPolicy returns the Object Lock policy of the backend (disabled unless
// Config.Lock was set).
func (b *Backend) LockPolicy() backend.LockPolicy { return b.cfg.Lock }

// retention returns the put options that lock an object of type t, or
// leaves opts as they are.
func (b *Backend) retention(t backend.Type, opts *minio.PutObjectOptions) {
	if !b.cfg.Lock.Enabled() || !backend.Locked(t) {
		return
	}
	opts.Mode = minio.RetentionMode(b.cfg.Lock.Mode)
	opts.RetainUntilDate = b.now().Add(b.cfg.Lock.Period + b.cfg.Lock.Slack).UTC()
	// S3 wants a checksum of the body on every locked PUT.
	opts.SendContentMd5 = true
}

func (b *Backend) now() time.Time {
	if b.cfg.Now != nil {
		return b.cfg.Now()
	}
	return time.Now()
}

// LockedUntil returns the retention date of h's current version.
func (b *Backend) LockedUntil(ctx context.Context, h backend.Handle) (time.Time, error) {
	if err := h.Valid(); err != nil {
		return time.Time{}, fmt.Errorf("retention of %s: %w", h, err)
	}
	_, until, err := b.client.GetObjectRetention(ctx, b.cfg.Bucket, b.key(h), "")
	if err != nil {
		if noRetention(err) {
			return time.Time{}, nil
		}
		return time.Time{}, wrap(ctx, "retention of", h, err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return until.UTC(), nil
}

// ExtendLock moves the retention date of h's current version to until. In
// compliance mode S3 refuses to shorten a retention; a date that is not
// later than the object's is therefore checked and accepted as it is.
func (b *Backend) ExtendLock(ctx context.Context, h backend.Handle, until time.Time) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("extend lock of %s: %w", h, err)
	}
	if !b.cfg.Lock.Enabled() {
		return nil
	}
	mode := minio.RetentionMode(b.cfg.Lock.Mode)
	until = until.UTC().Truncate(time.Second).Add(time.Second)
	err := b.client.PutObjectRetention(ctx, b.cfg.Bucket, b.key(h), minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until,
	})
	if err == nil {
		return nil
	}
	if werr := wrap(ctx, "extend lock of", h, err); !refused(werr) {
		return werr
	}
	// Refused: fine if the object is locked long enough already.
	have, gerr := b.LockedUntil(ctx, h)
	if gerr == nil && !have.Before(until.Add(-time.Second)) {
		return nil
	}
	return wrap(ctx, "extend lock of", h, err)
}

// refused reports whether the storage refused a change for a lock: MinIO
// says so, AWS answers AccessDenied.
func refused(err error) bool {
	return errors.Is(err, backend.ErrLocked) || errors.Is(err, backend.ErrPermission)
}

// noRetention reports the answer S3 gives for an object without a
// retention date.
func noRetention(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchObjectLockConfiguration" || code == "ObjectLockConfigurationNotFoundError" ||
		strings.Contains(err.Error(), "does not have retention") || strings.Contains(err.Error(), "no retention")
}

// Purge deletes the versions of type t's objects that are no longer
// current and whose retention has passed, then the delete markers with
// nothing left under them. A version still locked is left, and so is the
// delete marker above it: a removed object never comes back into sight.
// Versions are deleted by version id, so an object written again while
// the purge runs is not touched.
func (b *Backend) Purge(ctx context.Context, t backend.Type) (backend.PurgeStats, error) {
	var st backend.PurgeStats
	err := b.eachKey(ctx, "purge", t, func(key string, versions []minio.ObjectInfo) error {
		return b.purgeKey(ctx, key, versions, &st)
	})
	return st, err
}

// purgeKey purges the versions of one key (newest first).
func (b *Backend) purgeKey(ctx context.Context, key string, versions []minio.ObjectInfo, st *backend.PurgeStats) error {
	if len(versions) == 0 || versions[0].VersionID == "" || versions[0].VersionID == "null" && len(versions) == 1 {
		return nil // an unversioned bucket: nothing but the current object
	}
	left := 0 // data versions not deleted, below the newest delete marker
	var markers []minio.ObjectInfo
	for _, v := range versions {
		if v.IsLatest && !v.IsDeleteMarker {
			continue // the current object stays
		}
		if v.IsDeleteMarker {
			markers = append(markers, v)
			continue
		}
		err := b.client.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: v.VersionID})
		switch {
		case err == nil:
			st.VersionsDeleted++
			st.BytesFreed += v.Size
			continue
		case !refused(wrap(ctx, "purge", key, err)):
			return wrap(ctx, "purge", key, err)
		}
		left++
		st.VersionsLocked++
		st.BytesLocked += v.Size
		if _, until, err := b.client.GetObjectRetention(ctx, b.cfg.Bucket, key, v.VersionID); err == nil && until != nil {
			if st.NextUnlock.IsZero() || until.Before(st.NextUnlock) {
				st.NextUnlock = until.UTC()
			}
		}
	}
	for _, m := range markers {
		if m.IsLatest && left > 0 {
			continue // it hides a locked version
		}
		if err := b.client.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: m.VersionID}); err != nil {
			return wrap(ctx, "purge", key, err)
		}
		st.VersionsDeleted++
	}
	return nil
}
