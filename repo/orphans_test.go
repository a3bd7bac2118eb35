package repo

import (
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// TestMapGuard: a disk map stored within the grace window is never
// deleted, and the deletion runs only when it is due.
func TestMapGuard(t *testing.T) {
	var g mapGuard
	id, other := chunk.Sum([]byte("a")), chunk.Sum([]byte("b"))
	t0 := time.Unix(1_000_000, 0)
	g.storing(id, t0)
	calls := 0
	del := func() error { calls++; return nil }
	if ok, _ := g.remove(id, t0.Add(-time.Hour), del); ok || calls != 0 {
		t.Fatal("a disk map stored within the window was deleted")
	}
	if ok, _ := g.remove(other, t0.Add(-time.Hour), del); !ok || calls != 1 {
		t.Fatal("a disk map never stored here was not deleted")
	}
	if ok, _ := g.remove(id, t0.Add(time.Second), del); !ok || calls != 2 {
		t.Fatal("a disk map stored before the window was kept")
	}
}
