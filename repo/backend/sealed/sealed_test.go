package sealed_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
	"github.com/shadowvault/shadowvault/repo/backend/sealed"
)

func TestSealedBackend(t *testing.T) {
	ctx := context.Background()
	m, _ := crypt.NewMasterKey()
	raw := mem.New()
	b := sealed.New(raw, crypt.Derive(m))
	if sealed.Overhead != crypt.Overhead {
		t.Fatalf("overhead %d, crypt says %d", sealed.Overhead, crypt.Overhead)
	}
	manifest := backend.Handle{Type: backend.TypeSnapshot, Name: "s1"}
	other := backend.Handle{Type: backend.TypeSnapshot, Name: "s2"}
	body := []byte(`{"host":"hyperv01","vm":"SQL02"}`)
	for _, h := range []backend.Handle{manifest, other} {
		if err := b.Put(ctx, h, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	stored, _ := backend.ReadAll(ctx, raw, manifest)
	if bytes.Contains(stored, []byte("SQL02")) || len(stored) != len(body)+sealed.Overhead {
		t.Fatalf("stored object: %d bytes, plaintext visible: %v", len(stored), bytes.Contains(stored, []byte("SQL02")))
	}
	got, err := backend.ReadAll(ctx, b, manifest)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back: %v", err)
	}
	fi, err := b.Stat(ctx, manifest)
	if err != nil || fi.Size != int64(len(body)) {
		t.Fatalf("stat: %v %d", err, fi.Size)
	}
	part := make([]byte, 4)
	if _, err := b.ReadAt(ctx, manifest, part, 2); err != nil || string(part) != `host` {
		t.Fatalf("ReadAt: %v %q", err, part)
	}
	if _, err := b.ReadAt(ctx, manifest, part, int64(len(body)-2)); !errors.Is(err, backend.ErrInvalidRange) {
		t.Fatalf("ReadAt past the end: %v", err)
	}
	n := 0
	_ = b.List(ctx, backend.TypeSnapshot, func(fi backend.ObjectInfo) error {
		n++
		if fi.Size != int64(len(body)) {
			t.Errorf("list size %d", fi.Size)
		}
		return nil
	})
	if n != 2 {
		t.Fatalf("listed %d", n)
	}

	// A flipped byte, and an object copied over another name, are refused.
	flipped := bytes.Clone(stored)
	flipped[len(flipped)/2] ^= 1
	_ = raw.Put(ctx, manifest, bytes.NewReader(flipped), int64(len(flipped)))
	if _, err := backend.ReadAll(ctx, b, manifest); !errors.Is(err, sealed.ErrTampered) {
		t.Fatalf("flipped byte: %v", err)
	}
	s2, _ := backend.ReadAll(ctx, raw, other)
	_ = raw.Put(ctx, manifest, bytes.NewReader(s2), int64(len(s2)))
	if _, err := backend.ReadAll(ctx, b, manifest); !errors.Is(err, sealed.ErrTampered) {
		t.Fatalf("object moved to another name: %v", err)
	}

	// Packs, the config and key slots pass through.
	for _, ty := range []backend.Type{backend.TypePack, backend.TypeConfig, backend.TypeKeys} {
		h := backend.Handle{Type: ty, Name: "x"}
		_ = b.Put(ctx, h, bytes.NewReader(body), int64(len(body)))
		if got, _ := backend.ReadAll(ctx, raw, h); !bytes.Equal(got, body) {
			t.Fatalf("%s was sealed", ty)
		}
	}
}
