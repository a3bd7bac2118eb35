package replicate

import "sync/atomic"

// Stats is what a sync did.
type Stats struct {
	// Source is the source repository's id.
	Source string
	// Snapshots copied, and SnapshotsSkipped the target had.
	Snapshots, SnapshotsSkipped int
	// ChunksSent are the chunks read from the source, ChunksSkipped
	// those the target had (by its map or its index).
	ChunksSent, ChunksSkipped int64
	// BytesSent is the plaintext read from the source, BytesStored what
	// the target stored new (after compression).
	BytesSent, BytesStored int64
	// DisksVerified were read back and checked (Options.Verify).
	DisksVerified int64
}

// counters are a running sync's figures, updated from several goroutines.
type counters struct {
	source                 string
	snapshots, skippedSnap atomic.Int64
	sent, skipped          atomic.Int64
	bytesSent, stored      atomic.Int64
	verified               atomic.Int64
}

func (c *counters) stats() Stats {
	return Stats{Source: c.source, Snapshots: int(c.snapshots.Load()), SnapshotsSkipped: int(c.skippedSnap.Load()),
		ChunksSent: c.sent.Load(), ChunksSkipped: c.skipped.Load(), BytesSent: c.bytesSent.Load(), BytesStored: c.stored.Load(),
		DisksVerified: c.verified.Load()}
}
