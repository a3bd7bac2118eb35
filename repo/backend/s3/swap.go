package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Conditional writes and listings from a name: what a cluster of nodes
// coordinates with (docs/SCALE.md). MinIO and AWS S3 both evaluate
// If-None-Match: * and If-Match: ETag on PutObject atomically.

var (
	_ backend.Swapper    = (*Backend)(nil)
	_ backend.ListerFrom = (*Backend)(nil)
)

// GetTagged reads the whole object h and its ETag.
func (b *Backend) GetTagged(ctx context.Context, h backend.Handle) ([]byte, string, error) {
	if err := h.Valid(); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", h, err)
	}
	body, info, _, err := b.core.GetObject(ctx, b.cfg.Bucket, b.key(h), minio.GetObjectOptions{})
	if err != nil {
		return nil, "", wrap(ctx, "read", h, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return nil, "", wrap(ctx, "read", h, err)
	}
	return data, info.ETag, nil
}

// PutIf stores data under h if h's ETag is match, or if h does not exist
// when match is "".
func (b *Backend) PutIf(ctx context.Context, h backend.Handle, data []byte, match string) (string, error) {
	if err := h.Valid(); err != nil {
		return "", fmt.Errorf("put %s: %w", h, err)
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true, DisableMultipart: true}
	if match == "" {
		opts.SetMatchETagExcept("*")
	} else {
		opts.SetMatchETag(match)
	}
	b.retention(h.Type, &opts)
	info, err := b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		resp := minio.ToErrorResponse(err)
		// 412 when the condition failed; 409 when another conditional
		// write of the same key is in flight (AWS), NoSuchKey for If-Match
		// on a missing object (MinIO).
		if resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusConflict ||
			resp.Code == "PreconditionFailed" || resp.Code == "ConditionalRequestConflict" ||
			(match != "" && resp.Code == minio.NoSuchKey) {
			return "", fmt.Errorf("put %s: %w", h, backend.ErrPrecondition)
		}
		return "", wrap(ctx, "put", h, err)
	}
	return info.ETag, nil
}

// ListFrom lists the objects of type t whose names sort after after.
func (b *Backend) ListFrom(ctx context.Context, t backend.Type, after string, fn func(backend.ObjectInfo) error) error {
	if err := (backend.Handle{Type: t, Name: "x"}).Valid(); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir := b.dir(t)
	opts := minio.ListObjectsOptions{Prefix: dir, Recursive: true}
	if after != "" {
		opts.StartAfter = dir + after
	}
	for obj := range b.client.ListObjectsIter(ctx, b.cfg.Bucket, opts) {
		if obj.Err != nil {
			return wrap(ctx, "list", t, obj.Err)
		}
		h := backend.Handle{Type: t, Name: strings.TrimPrefix(obj.Key, dir)}
		if h.Valid() != nil {
			continue
		}
		if err := fn(backend.ObjectInfo{Handle: h, Size: obj.Size}); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	return nil
}
