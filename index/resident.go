package index

import bolt "go.etcd.io/bbolt"

// releaseEvery is how many chunk entries maintenance reads (a scan of the
// chunks, lookups of many chunks) between two releases of the index
// mapping: about 8 MB of index pages.
var releaseEvery int64 = 1 << 16

// readMany counts n chunk entries that a maintenance read went through in
// the read transaction tx, and releases the mapping once releaseEvery
// were read since the last release.
func (x *Index) readMany(tx *bolt.Tx, n int) {
	if x.reads.Add(int64(n)) < releaseEvery {
		return
	}
	x.reads.Store(0)
	releaseMapped(tx)
}

// release releases the mapping of the index now.
func (x *Index) release() {
	x.reads.Store(0)
	_ = x.db.View(func(tx *bolt.Tx) error {
		releaseMapped(tx)
		return nil
	})
}
