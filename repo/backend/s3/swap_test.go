package s3

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/shadowvault/shadowvault/repo/backend"
)

func TestPutIfAndListFrom(t *testing.T) {
	ctx := context.Background()
	b := open(t, serverConfig(t, shared))
	h := backend.Handle{Type: backend.TypeLease, Name: "maintenance"}
	if _, _, err := b.GetTagged(ctx, h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("GetTagged of a missing object: %v", err)
	}
	if _, err := b.PutIf(ctx, h, []byte("x"), "stale"); !errors.Is(err, backend.ErrPrecondition) {
		t.Fatalf("swap of a missing object: %v, want ErrPrecondition", err)
	}
	tag, err := b.PutIf(ctx, h, []byte("a"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutIf(ctx, h, []byte("b"), ""); !errors.Is(err, backend.ErrPrecondition) {
		t.Fatalf("a second create: %v, want ErrPrecondition", err)
	}
	data, got, err := b.GetTagged(ctx, h)
	if err != nil || got != tag || !bytes.Equal(data, []byte("a")) {
		t.Fatalf("GetTagged: %q %q %v, want %q %q", data, got, err, "a", tag)
	}
	next, err := b.PutIf(ctx, h, []byte("c"), tag)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutIf(ctx, h, []byte("d"), tag); !errors.Is(err, backend.ErrPrecondition) {
		t.Fatalf("a swap with an old tag: %v, want ErrPrecondition", err)
	}
	if _, err := b.PutIf(ctx, h, []byte("e"), next); err != nil {
		t.Fatalf("a swap with the current tag: %v", err)
	}

	for _, n := range []string{"0001-a", "0002-b", "0003-c"} {
		if err := b.Put(ctx, backend.Handle{Type: backend.TypeIndex, Name: n}, bytes.NewReader(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	err = b.ListFrom(ctx, backend.TypeIndex, "0001-a", func(fi backend.ObjectInfo) error {
		names = append(names, fi.Handle.Name)
		return nil
	})
	if err != nil || !slices.Equal(names, []string{"0002-b", "0003-c"}) {
		t.Fatalf("ListFrom after 0001-a: %v %v", names, err)
	}
}
