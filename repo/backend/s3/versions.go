package s3

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// eachKey lists every version of every object of type t and calls fn once
// per key with its versions, newest first (S3 lists the versions of a key
// together, in that order). op names the operation in errors.
func (b *Backend) eachKey(ctx context.Context, op string, t backend.Type, fn func(key string, versions []minio.ObjectInfo) error) error {
	if err := (backend.Handle{Type: t, Name: "x"}).Valid(); err != nil {
		return fmt.Errorf("%s %s: %w", op, t, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var key string
	var versions []minio.ObjectInfo
	flush := func() error {
		if key == "" {
			return nil
		}
		err := fn(key, versions)
		key, versions = "", versions[:0]
		return err
	}
	for obj := range b.client.ListObjectsIter(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: b.dir(t), Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			return wrap(ctx, op, t, obj.Err)
		}
		if obj.Key != key {
			if err := flush(); err != nil {
				return err
			}
			key = obj.Key
		}
		versions = append(versions, obj)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, t, err)
	}
	return nil
}
