package clustere2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// random returns n incompressible bytes made from seed.
func random(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 'c', 'l'})
	_, _ = r.Read(b)
	return b
}

// storeStats is what the bucket holds: packs and their bytes, and from the
// index objects, the distinct chunks and the copies beyond the first.
type storeStats struct {
	packs, indexObjects int
	packBytes           int64
	indexBytes          int64
	chunks, duplicates  int
	dupBytes            int64
}

func (s storeStats) String() string {
	return fmt.Sprintf("%d packs (%d bytes), %d index objects (%d bytes), %d distinct chunks, %d duplicate copies (%d bytes)",
		s.packs, s.packBytes, s.indexObjects, s.indexBytes, s.chunks, s.duplicates, s.dupBytes)
}

// stored reads the bucket's packs and index objects (layout:
// repo/clusterindex.go; the repository is not encrypted).
func stored(tb testing.TB, be backend.Backend) storeStats {
	tb.Helper()
	ctx := context.Background()
	var st storeStats
	err := be.List(ctx, backend.TypePack, func(fi backend.ObjectInfo) error {
		st.packs++
		st.packBytes += fi.Size
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[chunk.ID]bool{}
	err = be.List(ctx, backend.TypeIndex, func(fi backend.ObjectInfo) error {
		st.indexObjects++
		st.indexBytes += fi.Size
		data, err := backend.ReadAll(ctx, be, fi.Handle)
		if errors.Is(err, backend.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		const head, entry = 4 + 1 + 32 + 8 + 8 + 4, 49
		if len(data) < head+32 || string(data[:4]) != "svix" {
			return fmt.Errorf("index object %s: bad layout", fi.Handle.Name)
		}
		n := int(binary.LittleEndian.Uint32(data[53:]))
		for i := range n {
			var id chunk.ID
			p := data[head+i*entry:]
			copy(id[:], p)
			if seen[id] {
				st.duplicates++
				st.dupBytes += int64(binary.LittleEndian.Uint32(p[40:]))
			}
			seen[id] = true
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	st.chunks = len(seen)
	return st
}
