package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// rewriteCase is an index of 40 packs of 100 chunks, and a rewrite that
// drops half of them and moves some of their chunks into three new packs.
type rewriteCase struct {
	packs   map[chunk.ID][]Entry // the packs added, in order of packIDs
	packIDs []chunk.ID
	rw      Rewrite
	want    map[chunk.ID]Location // every chunk entry after the rewrite
	removed int
}

func newRewriteCase() *rewriteCase {
	c := &rewriteCase{packs: map[chunk.ID][]Entry{}, want: map[chunk.ID]Location{}}
	id := func(kind string, i int) chunk.ID {
		return chunk.Sum(binary.LittleEndian.AppendUint64([]byte(kind), uint64(i)))
	}
	for p := 0; p < 40; p++ {
		pid := id("pack", p)
		c.packIDs = append(c.packIDs, pid)
		for i := 0; i < 100; i++ {
			e := Entry{ID: id("chunk", p*100+i), Offset: uint64(i * 10), Length: 10, RawLength: 20, Compression: chunk.Zstd}
			c.packs[pid] = append(c.packs[pid], e)
			c.want[e.ID] = Location{Pack: pid, Entry: e}
		}
	}
	now := time.Unix(1700000000, 0)
	for n := 0; n < 3; n++ {
		np := NewPack{Info: PackInfo{ID: id("new", n), Size: 1000, Created: now}}
		c.rw.Add = append(c.rw.Add, np)
	}
	for p := 0; p < 40; p += 2 {
		pid := c.packIDs[p]
		c.rw.Remove = append(c.rw.Remove, pid)
		for i, e := range c.packs[pid] {
			if i%3 != 0 {
				delete(c.want, e.ID)
				c.removed++
				continue
			}
			n := (p + i) % 3
			moved := e
			moved.Offset = uint64(len(c.rw.Add[n].Entries) * 10)
			c.rw.Add[n].Entries = append(c.rw.Add[n].Entries, moved)
			c.want[e.ID] = Location{Pack: c.rw.Add[n].Info.ID, Entry: moved}
		}
	}
	// A new pack also holds a chunk of a kept pack: that chunk stays where
	// it is indexed.
	kept := c.packs[c.packIDs[1]][5]
	c.rw.Add[0].Entries = append(c.rw.Add[0].Entries, kept)
	for n := range c.rw.Add {
		c.rw.Add[n].Info.Count = len(c.rw.Add[n].Entries)
	}
	return c
}

func (c *rewriteCase) load(t *testing.T, x *Index) {
	t.Helper()
	var packs []NewPack
	for _, pid := range c.packIDs {
		packs = append(packs, NewPack{Info: PackInfo{ID: pid, Size: 1000, Count: 100, Created: time.Unix(1600000000, 0)}, Entries: c.packs[pid]})
	}
	if err := x.AddPacks(packs); err != nil {
		t.Fatal(err)
	}
}

// chunkEntries returns every chunk entry of x.
func chunkEntries(t *testing.T, x *Index) map[chunk.ID]Location {
	t.Helper()
	got := map[chunk.ID]Location{}
	if err := x.ForEachChunk(func(id chunk.ID, loc Location) error { got[id] = loc; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func packRecords(t *testing.T, x *Index) map[chunk.ID]bool {
	t.Helper()
	got := map[chunk.ID]bool{}
	if err := x.Packs(func(p PackInfo) error { got[p.ID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// check compares x with the result c.rw must have.
func (c *rewriteCase) check(t *testing.T, x *Index) {
	t.Helper()
	got := chunkEntries(t, x)
	if len(got) != len(c.want) {
		t.Errorf("%d chunk entries, want %d", len(got), len(c.want))
	}
	for id, w := range c.want {
		if g, ok := got[id]; !ok || g != w {
			t.Fatalf("chunk %s: %+v (indexed %v), want %+v", id.Short(), g, ok, w)
		}
	}
	packs := packRecords(t, x)
	for _, p := range c.rw.Remove {
		if packs[p] {
			t.Errorf("removed pack %s still indexed", p.Short())
		}
	}
	for _, np := range c.rw.Add {
		if !packs[np.Info.ID] {
			t.Errorf("new pack %s not indexed", np.Info.ID.Short())
		}
	}
}

// A rewrite applied in many small transactions has the result of one.
func TestRewriteInBatches(t *testing.T) {
	for _, batch := range []int{3, 100, 1 << 20} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			defer func(old int) { rewriteBatch = old }(rewriteBatch)
			rewriteBatch = batch
			x := open(t)
			c := newRewriteCase()
			c.load(t, x)
			n, err := x.ApplyRewrite(c.rw)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.removed {
				t.Errorf("removed %d chunks, want %d", n, c.removed)
			}
			c.check(t, x)
		})
	}
}

var errStopRewrite = errors.New("stopped")

// A rewrite interrupted between any two of its transactions leaves every
// chunk that the rewrite keeps indexed, and every chunk entry pointing at
// an indexed pack; applying the rewrite again completes it.
func TestRewriteInterrupted(t *testing.T) {
	defer func(old int) { rewriteBatch = old }(rewriteBatch)
	rewriteBatch = 150
	for stop := 0; ; stop++ {
		x := open(t)
		c := newRewriteCase()
		c.load(t, x)
		testHookRewriteTx = func(tx int) error {
			if tx == stop {
				return errStopRewrite
			}
			return nil
		}
		_, err := x.ApplyRewrite(c.rw)
		testHookRewriteTx = nil
		if err == nil {
			if stop < 3 {
				t.Fatalf("the rewrite took %d transactions: too few for the test", stop)
			}
			return
		}
		if !errors.Is(err, errStopRewrite) {
			t.Fatal(err)
		}
		got := chunkEntries(t, x)
		packs := packRecords(t, x)
		for id, loc := range got {
			if !packs[loc.Pack] {
				t.Fatalf("stopped at transaction %d: chunk %s points at pack %s, which is not indexed", stop, id.Short(), loc.Pack.Short())
			}
		}
		for id := range c.want {
			if _, ok := got[id]; !ok {
				t.Fatalf("stopped at transaction %d: chunk %s, which the rewrite keeps, is not indexed", stop, id.Short())
			}
		}
		if _, err := x.ApplyRewrite(c.rw); err != nil {
			t.Fatal(err)
		}
		c.check(t, x)
	}
}

func TestLocate(t *testing.T) {
	x := open(t)
	c := newRewriteCase()
	c.load(t, x)
	ids := []chunk.ID{c.packs[c.packIDs[3]][7].ID, chunk.Sum([]byte("not indexed")), c.packs[c.packIDs[0]][0].ID}
	var got []Location
	var found []bool
	err := x.Locate(ids, func(i int, loc Location, ok bool) error {
		if i != len(got) {
			t.Fatalf("called for %d after %d calls", i, len(got))
		}
		got, found = append(got, loc), append(found, ok)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Location{{Pack: c.packIDs[3], Entry: c.packs[c.packIDs[3]][7]}, {}, {Pack: c.packIDs[0], Entry: c.packs[c.packIDs[0]][0]}}
	for i := range ids {
		if found[i] != (i != 1) || got[i] != want[i] {
			t.Errorf("chunk %d: %+v %v, want %+v", i, got[i], found[i], want[i])
		}
	}
}
