package repo

import (
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// A disk map held by a complete in flight is never removed, however old
// its store; once released, a prune that began before the release keeps
// it and a later one may remove it. (The torture test found a complete
// that stored its map before a prune with a tiny grace began and committed
// its manifest after the prune listed the manifests.)
func TestMapGuardHoldsUntilTheCommitEnds(t *testing.T) {
	var g mapGuard
	id := chunk.Sum([]byte("a disk map"))
	t0 := time.Unix(1_800_000_000, 0)
	removed := 0
	del := func() error { removed++; return nil }
	g.hold(id, t0)
	if ok, _ := g.remove(id, t0.Add(time.Hour), del); ok || removed != 0 {
		t.Fatal("a held map was removed")
	}
	g.release(id, t0.Add(2*time.Hour))
	if ok, _ := g.remove(id, t0.Add(time.Hour), del); ok || removed != 0 {
		t.Fatal("a map released after the prune began was removed")
	}
	if ok, _ := g.remove(id, t0.Add(3*time.Hour), del); !ok || removed != 1 {
		t.Fatal("a map released before the prune began was kept")
	}
}
