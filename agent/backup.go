package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/receipt"
)

// BackupOptions describe one VM backup.
type BackupOptions struct {
	Host string
	VM   string
	Type apiv1.BackupType // full or copy
	// Consistency is application when VSS writers prepared the guest (the
	// agent ran inside a VSS backup, or the caller froze the guest itself),
	// else crash, the default when empty.
	Consistency apiv1.Consistency
	Writers     json.RawMessage
	Disks       []string // paths; the disk name is the file's base name
	Format      string   // "" to let the server detect
	ReceiptKey  string   // hex; empty: fetch it from the server (and say so)
	Parallel    int      // disks streamed at once (default 2)
	Retries     int      // extra attempts per disk (default 2)
	Backoff     time.Duration
	Progress    *Progress
	Log         *slog.Logger
	// GuestHints reads each disk's NTFS volumes and sends the server file
	// boundaries (better dedup); ExcludeFree also sends free space, stored
	// as zeros (smaller backups; deleted data is not kept).
	GuestHints  bool
	ExcludeFree bool
	// WriterMetadata is a file holding the VSS writer metadata document
	// (diskshadow's backup .cab), sent with the session and kept with the
	// snapshot; empty: none.
	WriterMetadata string
	// Incremental sends each disk as its changes over the same disk of a
	// base snapshot (Base, or the newest of the host and VM holding it),
	// found from ChangedRanges (a file) or else the base's block digests.
	// A disk without a usable base goes up whole, and the log says why.
	Incremental   bool
	Base          string
	ChangedRanges string
	// Schedule names the server's schedule this backup runs for (the
	// session's "schedule"); empty for a backup started by hand.
	Schedule string
}

// Progress counts bytes for a progress display.
type Progress struct {
	Total    atomic.Int64
	Sent     atomic.Int64
	Streamed atomic.Int64 // bytes of finished disks
	New      atomic.Int64 // new bytes of finished disks
	Changed  atomic.Int64 // changed bytes found by incremental uploads
}

type sentDisk struct {
	name, path string
	size       int64 // bytes sent: the file, or an incremental body
	hash       string
	summary    apiv1.DiskSummary
	base       string // incremental: the base snapshot
	changed    int64  // incremental: changed bytes sent
}

// Backup runs one backup and returns the verified receipt. Any failure aborts
// the session; the error wraps ErrInput (a local file, found before a
// session is opened), ErrRefused, ErrNetwork, ErrServer or ErrVerify.
func Backup(ctx context.Context, c *Client, o BackupOptions) (*apiv1.Receipt, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	if o.Consistency == "" {
		o.Consistency = apiv1.ConsistencyCrash
	}
	if err := checkSettings(o.Type, o.Consistency); err != nil {
		return nil, err
	}
	o.Parallel = max(o.Parallel, 1)
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	disks, err := statDisks(o.Disks, o.Progress)
	if err != nil {
		return nil, err
	}
	if err := checkFiles(o); err != nil {
		return nil, err
	}
	pub, err := receiptKey(ctx, c, o)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(disks))
	for i, d := range disks {
		names[i] = d.name
	}
	// Declaring the disks makes the server refuse a receipt without one.
	id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: o.Host, VM: o.VM, BackupType: o.Type,
		Consistency: o.Consistency, Writers: o.Writers, Disks: names, Schedule: o.Schedule})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil, fmt.Errorf("open session: %w: %w", ErrBusy, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	o.Log.Info("session opened", "session", id, "host", o.Host, "vm", o.VM, "disks", len(disks))
	rc, err := runSession(ctx, c, o, id, disks, pub)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if aerr := c.Abort(actx, id); aerr != nil {
			o.Log.Warn("abort failed", "session", id, "err", aerr)
		}
		return nil, err
	}
	return rc, nil
}

// checkSettings refuses a backup type or consistency the agent could not
// verify a receipt against.
func checkSettings(t apiv1.BackupType, c apiv1.Consistency) error {
	if _, err := receipt.ParseBackupType(string(t)); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if _, err := receipt.ParseConsistency(string(c)); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// statDisks checks each disk path before anything is sent: a regular file
// that can be opened and read, each name once. Problems are ErrInput.
func statDisks(paths []string, p *Progress) ([]*sentDisk, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no disks given", ErrRefused)
	}
	seen := map[string]bool{}
	var disks []*sentDisk
	for _, path := range paths {
		size, err := checkDisk(path)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(path)
		if seen[name] {
			return nil, fmt.Errorf("%w: two disks named %q", ErrInput, name)
		}
		seen[name] = true
		disks = append(disks, &sentDisk{name: name, path: path, size: size})
		p.Total.Add(size)
	}
	return disks, nil
}

// checkDisk returns the size of the disk file at path, or an ErrInput
// error saying why it cannot be sent.
func checkDisk(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%w: disk %s: %w", ErrInput, path, pathErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w: disk %s: %w", ErrInput, path, pathErr(err))
	case fi.IsDir():
		return 0, fmt.Errorf("%w: disk %s is a directory, not a disk image file", ErrInput, path)
	case !fi.Mode().IsRegular():
		return 0, fmt.Errorf("%w: disk %s is not a regular file", ErrInput, path)
	}
	// Reading one byte finds what opening does not (a file locked by a
	// running VM on Windows, an I/O error).
	if _, err := f.Read(make([]byte, 1)); err != nil && err != io.EOF {
		return 0, fmt.Errorf("%w: disk %s cannot be read: %w", ErrInput, path, pathErr(err))
	}
	return fi.Size(), nil
}

// pathErr is the cause of a *fs.PathError, whose text repeats the path.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkFiles reads the files other than disks that the backup will need
// (writer metadata, the changed ranges), so that a problem with them
// shows before a session is opened.
func checkFiles(o BackupOptions) error {
	if o.WriterMetadata != "" {
		if _, err := readWriterMetadata(o.WriterMetadata); err != nil {
			return err
		}
	}
	if o.ChangedRanges != "" {
		if _, err := ReadChanges(o.ChangedRanges); err != nil {
			return err
		}
	}
	return nil
}

func receiptKey(ctx context.Context, c *Client, o BackupOptions) (ed25519.PublicKey, error) {
	k := o.ReceiptKey
	if k == "" {
		var err error
		if k, err = c.ReceiptKey(ctx); err != nil {
			return nil, fmt.Errorf("fetch receipt key: %w", err)
		}
		o.Log.Warn("no receipt key pinned: using the key the server sent; pin it with --receipt-key", "receipt_key", k)
	}
	pub, err := receipt.ParsePublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	return pub, nil
}

func runSession(ctx context.Context, c *Client, o BackupOptions, id string, disks []*sentDisk, pub ed25519.PublicKey) (*apiv1.Receipt, error) {
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	errs := make([]error, len(disks))
	for i, d := range disks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = sendWithRetry(ctx, c, o, id, d)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.WriterMetadata != "" {
		if err := sendWriterMetadata(ctx, c, id, o.WriterMetadata); err != nil {
			return nil, err
		}
	}
	rc, err := c.Complete(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("complete: %w", err)
	}
	if err := verify(rc, pub, id, o, disks); err != nil {
		return nil, err
	}
	return &rc, nil
}

func sendWithRetry(ctx context.Context, c *Client, o BackupOptions, id string, d *sentDisk) error {
	var err error
	for attempt := 0; attempt <= o.Retries; attempt++ {
		if attempt > 0 {
			wait := o.Backoff << (attempt - 1)
			o.Log.Warn("disk upload failed, retrying", "disk", d.name, "attempt", attempt, "in", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if o.Incremental {
			err = sendIncremental(ctx, c, o, id, d)
			if errors.Is(err, errFullUpload) {
				o.Log.Warn("incremental upload not possible: sending the whole disk", "disk", d.name, "why", err)
				o.Incremental = false // for this disk: o is a copy
				err = sendDisk(ctx, c, o, id, d)
			}
		} else {
			err = sendDisk(ctx, c, o, id, d)
		}
		if err == nil {
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 && ae.Status != 408 {
			return err // the server refused this disk: retrying will not help
		}
		if errors.Is(err, ErrInput) {
			return err // the disk file cannot be read
		}
	}
	return err
}

func sendDisk(ctx context.Context, c *Client, o BackupOptions, id string, d *sentDisk) error {
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if o.GuestHints {
		sendHints(ctx, c, o, id, d)
	}
	h := blake3.New()
	counted := &countingReader{r: io.TeeReader(f, h), p: o.Progress}
	start := time.Now()
	sum, err := c.PutDiskWith(ctx, id, d.name, counted, d.size, PutOptions{Format: o.Format, RCTID: diskRCT(d)})
	o.Progress.Sent.Add(-counted.n)
	if err != nil && counted.err != nil {
		return fmt.Errorf("%w: disk %s: read %s: %w", ErrInput, d.name, d.path, counted.err)
	}
	if err != nil {
		return fmt.Errorf("disk %s: %w", d.name, err)
	}
	o.Progress.Sent.Add(d.size)
	o.Progress.Streamed.Add(d.size)
	o.Progress.New.Add(sum.NewBytes)
	d.hash, d.summary = hex.EncodeToString(h.Sum(nil)), sum
	if counted.n != d.size || sum.StreamBLAKE3 != d.hash || sum.StreamBytes != d.size {
		return fmt.Errorf("%w: disk %s: sent %d bytes with BLAKE3 %s, server received %d with %s",
			ErrVerify, d.name, counted.n, d.hash, sum.StreamBytes, sum.StreamBLAKE3)
	}
	if sum.HasParent {
		o.Log.Info("differencing disk: stored merged only with a disk of this backup that has its parent id",
			"disk", d.name, "parent_id", sum.ParentID)
	}
	secs := time.Since(start).Seconds()
	o.Log.Info("disk sent", "disk", d.name, "format", sum.Format, "bytes", d.size, "new_bytes", sum.NewBytes,
		"MB/s", fmt.Sprintf("%.0f", float64(d.size)/1e6/max(secs, 1e-6)))
	return nil
}

// verify checks the receipt: signature, session, the backup type and
// consistency asked for (and so whether the guests may truncate their logs),
// and every disk's hash.
func verify(rc apiv1.Receipt, pub ed25519.PublicKey, id string, o BackupOptions, disks []*sentDisk) error {
	if err := receipt.Verify(rc, pub); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if rc.Session != id || rc.Host != o.Host || rc.VM != o.VM {
		return fmt.Errorf("%w: receipt is for session %s (%s/%s), not %s", ErrVerify, rc.Session, rc.Host, rc.VM, id)
	}
	if want := receipt.TruncateLogs(o.Type, o.Consistency); rc.BackupType != o.Type || rc.Consistency != o.Consistency || rc.TruncateLogs != want {
		return fmt.Errorf("%w: receipt says backup_type %q, consistency %q, truncate_logs %v; asked for %q, %q, so truncate_logs %v",
			ErrVerify, rc.BackupType, rc.Consistency, rc.TruncateLogs, o.Type, o.Consistency, want)
	}
	if len(rc.Disks) != len(disks) {
		return fmt.Errorf("%w: receipt lists %d disks, %d were sent", ErrVerify, len(rc.Disks), len(disks))
	}
	sort.Slice(disks, func(i, j int) bool { return disks[i].name < disks[j].name })
	got := append([]apiv1.Disk(nil), rc.Disks...)
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	for i, d := range disks {
		if got[i].Name != d.name || got[i].StreamBLAKE3 != d.hash || got[i].StreamBytes != d.size {
			return fmt.Errorf("%w: disk %s: receipt says %d bytes with BLAKE3 %s, sent %d with %s",
				ErrVerify, d.name, got[i].StreamBytes, got[i].StreamBLAKE3, d.size, d.hash)
		}
		if got[i].Base != d.base || got[i].ChangedBytes != d.changed {
			return fmt.Errorf("%w: disk %s: receipt says %d bytes changed over %q, sent %d over %q",
				ErrVerify, d.name, got[i].ChangedBytes, got[i].Base, d.changed, d.base)
		}
	}
	return nil
}

// countingReader counts what is read for the progress display, and keeps
// the reader's last error other than io.EOF: an upload that failed because
// of it failed here, not on the network.
type countingReader struct {
	r   io.Reader
	n   int64
	p   *Progress
	err error
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.p.Sent.Add(int64(n))
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// sendHints sends the guest hints of a disk; a disk without usable hints is
// backed up without them.
func sendHints(ctx context.Context, c *Client, o BackupOptions, id string, d *sentDisk) {
	hb, err := GuestHints(ctx, d.path, o.ExcludeFree)
	if err != nil {
		o.Log.Info("no guest hints for disk", "disk", d.name, "why", err)
		return
	}
	p := "/api/v1/sessions/" + url.PathEscape(id) + "/disks/" + url.PathEscape(d.name) + "/hints"
	if err := c.DoJSON(ctx, http.MethodPut, p, hb, nil); err != nil {
		o.Log.Warn("guest hints refused; backing up without them", "disk", d.name, "err", err)
		return
	}
	o.Log.Info("guest hints sent", "disk", d.name, "boundaries", len(hb.Boundaries), "free_ranges", len(hb.Free))
}
