package guestfs

import (
	"bytes"
	"context"
	"fmt"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// mftBatch is how many MFT records walkMFT reads at a time.
const mftBatch = 256

// walkMFT feeds c the runs of every non-resident attribute of every
// in-use MFT record, base and extension records alike, so each run is
// seen once. $DATA runs also give file boundaries.
func (fs *FS) walkMFT(ctx context.Context, c *collector) error {
	var mft *stream
	err := fs.do(ctx, "open $MFT", func() error {
		rec, err := fs.record(mftRecord)
		if err == nil {
			mft, err = fs.openStream(rec, attrData, "")
		}
		return err
	})
	if err != nil {
		return err
	}
	rs := fs.boot.recordSize
	records := min(mft.size, fs.boot.clusters*fs.boot.clusterSize) / rs
	batch := make([]byte, mftBatch*rs)
	for first := int64(0); first < records; first += mftBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(mftBatch, records-first)
		err := fs.do(ctx, "read $MFT", func() error {
			if _, err := mft.readAt(batch[:n*rs], first*rs); err != nil {
				return err
			}
			for i := range n {
				fs.walkRecord(batch[i*rs:(i+1)*rs], c)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("MFT records %d-%d: %w", first, first+n-1, err)
		}
	}
	return nil
}

// walkRecord feeds c the runs of one raw MFT record. A record go-ntfs
// cannot parse is skipped: hints may be incomplete, never wrong.
func (fs *FS) walkRecord(raw []byte, c *collector) {
	_ = guard("MFT record", func() error {
		e, err := ntfs.GetFixedUpMFTEntry(fs.vol, bytes.NewReader(raw), 0)
		if err != nil || !e.Magic().IsValid() || e.Flags().Value&1 == 0 {
			return nil
		}
		for _, a := range directAttrs(e) {
			if a.IsResident() {
				continue
			}
			data := a.Type().Value == attrData
			for _, r := range a.RunList() {
				ext := extent{lcn: r.Offset, length: r.Length, sparse: r.RelativeUrnOffset == 0}
				if dr, ok := fs.diskRange(ext); ok {
					c.add(dr, data)
				}
			}
		}
		return nil
	})
}
