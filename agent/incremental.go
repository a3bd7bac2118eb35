package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/vhd"
)

// ChangeSource says where an incremental backup learns what changed.
type ChangeSource string

// Change sources, in the order the agent prefers them.
const (
	ChangesRCT     ChangeSource = "rct"            // Hyper-V Resilient Change Tracking (Windows)
	ChangesFile    ChangeSource = "changed-ranges" // a --changed-ranges file
	ChangesDigests ChangeSource = "block-digests"  // the base's block digests against the disk's
)

// errFullUpload says an incremental upload is not possible for a disk;
// the agent then sends the whole disk and says why.
var errFullUpload = errors.New("no usable base")

// baseDisk is the disk an incremental upload builds on.
type baseDisk struct {
	snapshot string
	size     int64  // virtual
	rctID    string // the change tracking id recorded with it, if any
}

// baseFor returns the snapshot an incremental upload of disk d builds on:
// o.Base, or the newest snapshot of the host and VM holding a disk of
// that name.
func baseFor(ctx context.Context, c *Client, o BackupOptions, name string) (baseDisk, error) {
	var list apiv1.SnapshotList
	q := "/api/v1/snapshots?host=" + url.QueryEscape(o.Host) + "&vm=" + url.QueryEscape(o.VM)
	if err := c.DoJSON(ctx, http.MethodGet, q, nil, &list); err != nil {
		return baseDisk{}, fmt.Errorf("list snapshots: %w", err)
	}
	for i := len(list.Snapshots) - 1; i >= 0; i-- {
		s := list.Snapshots[i]
		if o.Base != "" && s.ID != o.Base {
			continue
		}
		for _, d := range s.Disks {
			if d.Name == name {
				return baseDisk{snapshot: s.ID, size: d.VirtualSize, rctID: d.RCTID}, nil
			}
		}
	}
	if o.Base != "" {
		return baseDisk{}, fmt.Errorf("%w: snapshot %s of %s/%s has no disk %s", errFullUpload, o.Base, o.Host, o.VM, name)
	}
	return baseDisk{}, fmt.Errorf("%w: no snapshot of %s/%s holds a disk %s", errFullUpload, o.Host, o.VM, name)
}

// sendIncremental sends the changes of disk d over its base. It returns an
// error wrapping errFullUpload when the disk must go up whole instead.
func sendIncremental(ctx context.Context, c *Client, o BackupOptions, id string, d *sentDisk) error {
	bd, err := baseFor(ctx, c, o, d.name)
	if err != nil {
		return err
	}
	base := bd.snapshot
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := vhd.OpenImage(f)
	if err != nil {
		return fmt.Errorf("%w: %s cannot be read as virtual content here: %v", errFullUpload, d.name, err)
	}
	start := time.Now()
	cs, src, err := findChanges(ctx, c, o, bd, d, img)
	if err != nil {
		if baseRefused(err) {
			return fmt.Errorf("%w: base %s: %v", errFullUpload, base, err)
		}
		return err
	}
	cs = normalizeChanges(cs, bd.size, img.Size())
	changed := changedBytes(cs)
	o.Progress.Changed.Add(changed)
	o.Log.Info("changes found", "disk", d.name, "base", base, "source", src, "ranges", len(cs),
		"changed_bytes", changed, "virtual_size", img.Size(), "took", time.Since(start).Round(time.Millisecond))
	body, n, boundary := changesBody(img, img.Size(), cs)
	h := blake3.New()
	counted := &countingReader{r: io.TeeReader(body, h), p: o.Progress}
	o.Progress.Total.Add(n - d.size) // the body, not the file, goes up
	sum, err := c.PutIncremental(ctx, id, d.name, base, diskRCT(d), counted, n, boundary)
	o.Progress.Sent.Add(-counted.n)
	if err != nil {
		o.Progress.Total.Add(d.size - n)
		if counted.err != nil {
			return fmt.Errorf("%w: disk %s: read %s: %w", ErrInput, d.name, d.path, counted.err)
		}
		if baseRefused(err) {
			return fmt.Errorf("%w: the server refused base %s: %v", errFullUpload, base, err)
		}
		return fmt.Errorf("disk %s: %w", d.name, err)
	}
	o.Progress.Sent.Add(n)
	o.Progress.Streamed.Add(n)
	o.Progress.New.Add(sum.NewBytes)
	hash := hex.EncodeToString(h.Sum(nil))
	if counted.n != n || sum.StreamBLAKE3 != hash || sum.StreamBytes != n || sum.Base != base || sum.ChangedBytes != changed {
		return fmt.Errorf("%w: disk %s: sent %d bytes with BLAKE3 %s, %d changed over %s; server received %d with %s, %d changed over %s",
			ErrVerify, d.name, n, hash, changed, base, sum.StreamBytes, sum.StreamBLAKE3, sum.ChangedBytes, sum.Base)
	}
	d.size, d.hash, d.summary, d.base, d.changed = n, hash, sum, base, changed
	o.Log.Info("disk sent", "disk", d.name, "incremental", true, "changed_bytes", changed, "sent_bytes", n, "new_bytes", sum.NewBytes)
	return nil
}

// findChanges asks the change sources in order of preference.
func findChanges(ctx context.Context, c *Client, o BackupOptions, bd baseDisk, d *sentDisk, img *vhd.Image) ([]Change, ChangeSource, error) {
	if o.ChangedRanges != "" {
		cs, err := ReadChanges(o.ChangedRanges)
		return cs, ChangesFile, err
	}
	if bd.rctID != "" {
		cs, err := rctChanges(ctx, d.path, bd.rctID, img.Size())
		if err == nil {
			return cs, ChangesRCT, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		o.Log.Info("resilient change tracking gave no answer: comparing block digests", "disk", d.name, "rct_id", bd.rctID, "why", err)
	}
	cs, err := digestChanges(ctx, c, bd.snapshot, d.name, img)
	if err != nil {
		return nil, "", err
	}
	return cs, ChangesDigests, nil
}

// diskRCT is the change tracking id of the disk as it is sent, recorded
// with the snapshot for the next incremental; empty without one.
func diskRCT(d *sentDisk) string {
	id, err := rctState(d.path)
	if err != nil {
		return ""
	}
	return id
}

// baseRefused reports whether the server's answer says the base cannot be
// used (forgotten meanwhile, without the disk, a differencing disk without
// its parent): the disk then goes up whole.
func baseRefused(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case apiv1.CodeNoBase, apiv1.CodeUnknownSnapshot, apiv1.CodeUnknownDisk, apiv1.CodeParentMissing, apiv1.CodeNoDigests:
		return true
	}
	return false
}
