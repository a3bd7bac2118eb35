package agent

import (
	"context"
	"fmt"
	"os"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/guestfs"
	"github.com/shadowvault/shadowvault/vhd"
)

// GuestHints reads the container at path and its NTFS volumes (without
// reading their file data) and returns what the agent tells the server
// about them before streaming the disk: where files begin and end, and,
// when asked, the free ranges (free clusters, page and hibernation files).
// A disk the agent cannot map (a differencing disk, a VHDX with a log, no
// NTFS) gives no hints and an error saying why; the backup then goes on
// without them.
func GuestHints(ctx context.Context, path string, excludeFree bool) (*apiv1.HintsRequest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := vhd.OpenImage(f)
	if err != nil {
		return nil, err
	}
	parts, err := guestfs.Partitions(img, img.Size())
	if err != nil {
		return nil, err
	}
	h := &apiv1.HintsRequest{Boundaries: []int64{}, Free: []apiv1.Range{}, ExcludeFree: excludeFree}
	found := false
	for _, p := range parts {
		if p.Type != "ntfs" {
			continue
		}
		fs, err := guestfs.OpenNTFS(ctx, img, p)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Index, err)
		}
		l, err := fs.Layout(ctx)
		fs.Close()
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Index, err)
		}
		found = true
		// Partition edges are boundaries too.
		h.Boundaries = append(h.Boundaries, p.Offset, p.Offset+p.Size)
		h.Boundaries = append(h.Boundaries, l.FileBoundaries...)
		if excludeFree {
			h.Free = append(h.Free, l.Free...)
			h.Free = append(h.Free, l.Volatile...)
		}
	}
	if !found {
		return nil, fmt.Errorf("no NTFS volume on %s", path)
	}
	// Keep sector alignment (the server refuses anything else).
	b := h.Boundaries[:0]
	for _, o := range h.Boundaries {
		if o%512 == 0 && o <= img.Size() {
			b = append(b, o)
		}
	}
	h.Boundaries = b
	return h, nil
}
