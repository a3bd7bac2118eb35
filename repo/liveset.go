package repo

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/shadowvault/shadowvault/chunk"
)

// liveSet is the set of chunks a prune keeps, by the first 8 bytes of
// their IDs: a sorted slice of keys without duplicates, 8 bytes a chunk (a
// Go map of them took about 40). A key is the prefix read big endian, so
// that keys sort as the IDs do and a scan of the index in key order can
// walk the set alongside (cursor). Two chunks with one prefix share a key:
// a collision only keeps a dead chunk one prune longer.
type liveSet struct{ keys []uint64 }

// liveKey is id's key in a liveSet.
func liveKey(id chunk.ID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// len is the number of keys.
func (s *liveSet) len() int { return len(s.keys) }

// has reports whether id is live.
func (s *liveSet) has(id chunk.ID) bool {
	_, ok := slices.BinarySearch(s.keys, liveKey(id))
	return ok
}

// with returns the union of s and o; s must not be used after.
func (s *liveSet) with(o *liveSet) *liveSet {
	b := liveSetBuilder{set: s.keys}
	for _, k := range o.keys {
		b.addKey(k)
	}
	return b.finish()
}

// cursor returns a reader of the set for IDs asked in ascending order.
func (s *liveSet) cursor() *liveCursor { return &liveCursor{keys: s.keys} }

// liveCursor answers has in constant time for IDs asked in ascending
// order, walking the set forward; an ID below the last one asked is
// looked up afresh, so that any order is answered right.
type liveCursor struct {
	keys []uint64
	i    int // keys[:i] are below the last key asked
	last uint64
}

func (c *liveCursor) has(id chunk.ID) bool {
	k := liveKey(id)
	if k < c.last {
		c.i, _ = slices.BinarySearch(c.keys, k)
	}
	c.last = k
	for c.i < len(c.keys) && c.keys[c.i] < k {
		c.i++
	}
	return c.i < len(c.keys) && c.keys[c.i] == k
}

// liveSetBuilder collects the keys of a liveSet: they gather unsorted in
// pending, which is sorted and merged into the set (in place, from the
// end) whenever it reaches a quarter of the set, so that the builder holds
// at most about 1.5 times the set's size.
type liveSetBuilder struct {
	set, pending []uint64
}

// add adds chunk id.
func (b *liveSetBuilder) add(id chunk.ID) { b.addKey(liveKey(id)) }

// addPrefix adds the chunk whose ID prefix, read little endian, is p
// (Upload.refs keeps them so).
func (b *liveSetBuilder) addPrefix(p uint64) { b.addKey(bits.ReverseBytes64(p)) }

func (b *liveSetBuilder) addKey(k uint64) {
	b.pending = append(b.pending, k)
	if len(b.pending) >= max(1<<16, len(b.set)/4) {
		b.merge()
	}
}

// merge moves the pending keys into the set.
func (b *liveSetBuilder) merge() {
	if len(b.pending) == 0 {
		return
	}
	slices.Sort(b.pending)
	p := slices.Compact(b.pending)
	n := len(b.set)
	b.set = slices.Grow(b.set, len(p))[:n+len(p)]
	// Merge from the end: b.set[:n] and p into b.set, largest first.
	i, j := n-1, len(p)-1
	for w := len(b.set) - 1; j >= 0; w-- {
		if i >= 0 && b.set[i] > p[j] {
			b.set[w] = b.set[i]
			i--
		} else {
			b.set[w] = p[j]
			j--
		}
	}
	b.set = slices.Compact(b.set)
	b.pending = b.pending[:0]
}

// finish returns the set. The builder must not be used after.
func (b *liveSetBuilder) finish() *liveSet {
	b.merge()
	s := &liveSet{keys: slices.Clip(b.set)}
	b.set, b.pending = nil, nil
	return s
}
