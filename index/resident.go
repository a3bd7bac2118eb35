package index

import bolt "go.etcd.io/bbolt"

// releaseEvery is how many chunk entries maintenance reads (a scan of the
// chunks, lookups of many chunks) between two releases of the index
// mapping. Pages are not laid out in key order, and the kernel maps up to
// 64 KiB around each page a read faults in: a scan of 4096 entries (about
// 100 pages) leaves at most a few MB mapped, one of 65536 left 60 MB.
var releaseEvery int64 = 1 << 12

// readMany counts n chunk entries that a maintenance read went through in
// the transaction tx, and releases the mapping once releaseEvery were
// read since the last release.
func (x *Index) readMany(tx *bolt.Tx, n int) {
	if x.reads.Add(int64(n)) < releaseEvery {
		return
	}
	x.reads.Store(0)
	releaseMapped(tx)
}

// release releases the mapping now, in a read transaction of its own.
func (x *Index) release() {
	x.reads.Store(0)
	_ = x.db.View(func(tx *bolt.Tx) error {
		releaseMapped(tx)
		return nil
	})
}
