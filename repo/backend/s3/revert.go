package s3

import (
	"context"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Revert makes the first version of each wanted object of type t current
// again where the current one is a delete marker or has another ETag.
// shadowvault writes the objects of the locked types once (their names
// are content hashes or snapshot IDs): the first version is the one it
// wrote, and under Object Lock the one nobody could delete. The copy is
// written with a retention date like any locked Put.
func (b *Backend) Revert(ctx context.Context, t backend.Type, want func(name string) bool) (int, error) {
	n := 0
	dir := b.dir(t)
	err := b.eachKey(ctx, "revert", t, func(key string, versions []minio.ObjectInfo) error {
		if !want(strings.TrimPrefix(key, dir)) {
			return nil
		}
		done, err := b.revertKey(ctx, key, versions)
		if done {
			n++
		}
		return err
	})
	return n, err
}

// revertKey reverts one key, given its versions newest first.
func (b *Backend) revertKey(ctx context.Context, key string, versions []minio.ObjectInfo) (bool, error) {
	var first, current *minio.ObjectInfo
	for i := range versions {
		v := &versions[i]
		if v.IsLatest {
			current = v
		}
		if !v.IsDeleteMarker {
			first = v // the list is newest first: the last data version is the first written
		}
	}
	if first == nil || current == nil {
		return false, nil // nothing to go back to
	}
	if !current.IsDeleteMarker && (current.VersionID == first.VersionID || current.ETag == first.ETag) {
		return false, nil
	}
	dst := minio.CopyDestOptions{Bucket: b.cfg.Bucket, Object: key}
	if b.cfg.Lock.Enabled() {
		dst.Mode = minio.RetentionMode(b.cfg.Lock.Mode)
		dst.RetainUntilDate = b.now().Add(b.cfg.Lock.Period + b.cfg.Lock.Slack).UTC()
	}
	src := minio.CopySrcOptions{Bucket: b.cfg.Bucket, Object: key, VersionID: first.VersionID}
	if _, err := b.client.CopyObject(ctx, dst, src); err != nil {
		return false, wrap(ctx, "revert", key, err)
	}
	return true, nil
}
