package vhd

import (
	"bytes"
	"math/rand"
	"testing"
)

// TestBuildOverlayMatchesPaint checks the one-pass overlay against
// painting the descriptors one by one.
func TestBuildOverlayMatchesPaint(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	s := &Stream{}
	for round := 0; round < 300; round++ {
		var ops []ovSeg
		slow := &overlay{}
		for i := rng.Intn(40); i > 0; i-- {
			off := int64(rng.Intn(64)) * logSector
			g := ovSeg{off: off, n: int64(1+rng.Intn(8)) * logSector}
			if rng.Intn(2) == 0 {
				g.n = logSector
				g.data = bytes.Repeat([]byte{byte(1 + rng.Intn(250))}, logSector)
			}
			ops = append(ops, g)
			slow.paint(g.off, g.n, g.data)
		}
		fast, err := s.buildOverlay(ops)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(fast.segs); i++ {
			if a, b := fast.segs[i-1], fast.segs[i]; a.off+a.n > b.off {
				t.Fatalf("round %d: segments %d and %d overlap", round, i-1, i)
			}
		}
		const span = 80 * logSector
		want, got := bytes.Repeat([]byte{0xff}, span), bytes.Repeat([]byte{0xff}, span)
		slow.apply(want, 0)
		fast.apply(got, 0)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: overlay differs from painting %d ops", round, len(ops))
		}
	}
}
