package s3

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/backendtest"
)

// Every sub-test gets its own prefix in one bucket, so the suite also
// checks that repositories under different prefixes do not see each other.
func TestConformance(t *testing.T) {
	cfg := serverConfig(t, shared)
	n := 0
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		n++
		c := cfg
		c.Prefix = fmt.Sprintf("conformance/%d/repo", n)
		return open(t, c)
	})
}

// Objects live at <prefix>/<type>/<name>; keys that are not handles are
// not listed.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	cfg := serverConfig(t, shared)
	cfg.Prefix = "/a/b/"
	b := open(t, cfg)
	h := backend.Handle{Type: backend.TypeSnapshot, Name: "s1"}
	if err := b.Put(ctx, h, bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.StatObject(ctx, cfg.Bucket, "a/b/snapshots/s1", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object not at a/b/snapshots/s1: %v", err)
	}
	for _, key := range []string{"a/b/snapshots/deeper/s2", "a/b/snapshots/.hidden", "a/b/snapshotsX"} {
		if _, err := b.client.PutObject(ctx, cfg.Bucket, key, bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	err := b.List(ctx, backend.TypeSnapshot, func(fi backend.ObjectInfo) error {
		names = append(names, fi.Handle.Name)
		return nil
	})
	if err != nil || fmt.Sprint(names) != "[s1]" {
		t.Fatalf("list = %v, %v; want [s1]", names, err)
	}
}

// Put stores size bytes from the reader's current position, for readers
// with and without ReadAt, in one PUT and as a multipart upload.
func TestPutFromPosition(t *testing.T) {
	ctx := context.Background()
	cfg := serverConfig(t, shared)
	cfg.PartSize = MinPartSize
	b := open(t, cfg)
	for _, size := range []int64{10, MinPartSize + 100} {
		src := &pattern{seed: 7, size: size + 5}
		want := make([]byte, size)
		src.ReadAt(want, 5)
		readers := map[string]func() readSeeker{
			"ReaderAt": func() readSeeker { return bytes.NewReader(append(make([]byte, 5), want...)) },
			"Reader":   func() readSeeker { return onlyReadSeeker{bytes.NewReader(append(make([]byte, 5), want...))} },
		}
		for name, mk := range readers {
			r := mk()
			r.Seek(5, 0)
			h := backend.Handle{Type: backend.TypePack, Name: fmt.Sprintf("%s-%d", name, size)}
			if err := b.Put(ctx, h, r, size); err != nil {
				t.Fatalf("put %s: %v", h, err)
			}
			got, err := backend.ReadAll(ctx, b, h)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: read back %d bytes, %v; equal=%v", h, len(got), err, bytes.Equal(got, want))
			}
		}
	}
}

type readSeeker interface {
	Read([]byte) (int, error)
	Seek(int64, int) (int64, error)
}

// onlyReadSeeker hides ReadAt.
type onlyReadSeeker struct{ readSeeker }
