package guestfs

import (
	"context"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
)

// bitmapChunk is how much of $Bitmap freeRanges reads at a time.
const bitmapChunk = 64 << 10

// freeRanges streams $Bitmap and returns the free clusters as merged disk
// ranges. Clusters the bitmap does not cover count as used. It reports
// truncated when it stopped at maxLayoutItems ranges.
func (fs *FS) freeRanges(ctx context.Context) ([]diskmap.Range, bool, error) {
	var bm *stream
	err := fs.do(ctx, "open $Bitmap", func() error {
		rec, err := fs.record(bitmapRecord)
		if err == nil {
			bm, err = fs.openStream(rec, attrData, "")
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	clusters := fs.boot.clusters
	avail := min((clusters+7)/8, bm.size)
	var out []diskmap.Range
	start := int64(-1) // first cluster of the current free run
	flush := func(end int64) {
		if start >= 0 {
			r, _ := fs.diskRange(extent{lcn: start, length: end - start})
			out = append(out, r)
			start = -1
		}
	}
	scanned := int64(0) // clusters looked at so far
	buf := make([]byte, bitmapChunk)
	for off := int64(0); off < avail && len(out) < maxLayoutItems; off += bitmapChunk {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		chunk := buf[:min(bitmapChunk, avail-off)]
		err := fs.do(ctx, "read $Bitmap", func() error {
			_, err := bm.readAt(chunk, off)
			return err
		})
		if err != nil {
			return nil, false, fmt.Errorf("$Bitmap at %d: %w", off, err)
		}
		scanned = min((off+int64(len(chunk)))*8, clusters)
		for i, b := range chunk {
			lcn := (off + int64(i)) * 8
			switch {
			case b == 0 && lcn+8 <= clusters:
				if start < 0 {
					start = lcn
				}
			case b == 0xff:
				flush(lcn)
			default:
				for bit := int64(0); bit < 8 && lcn+bit < clusters; bit++ {
					if b&(1<<bit) == 0 {
						if start < 0 {
							start = lcn + bit
						}
					} else {
						flush(lcn + bit)
					}
				}
			}
		}
	}
	flush(scanned)
	return out, len(out) >= maxLayoutItems, nil
}
