package repo

import (
	"context"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"sort"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Complete makes the session durable and returns its signed receipt. It
// follows the durability order: every pack the disks reference is durable
// and indexed, then the disk maps and the manifest are stored, then the
// snapshot is committed to the index, and only then is the receipt returned.
// Completing a completed session returns the same receipt. A session is
// refused, and stays open, while the last upload of a disk failed
// (ErrDiskFailed) or a declared disk is missing (ErrDiskMissing).
func (s *Session) Complete(ctx context.Context) (*receipt.Receipt, error) {
	s.completeMu.Lock()
	defer s.completeMu.Unlock()
	s.mu.Lock()
	if st, failure := s.state, s.failure; st != stateOpen {
		s.mu.Unlock()
		switch st {
		case stateCompleted:
			return s.r.ReceiptFor(s.ID)
		case stateFailed:
			return nil, fmt.Errorf("session %s: %w: %w", s.ID, ErrSessionFailed, failure)
		case stateCompleting:
			return nil, fmt.Errorf("session %s: %w", s.ID, ErrDiskBusy)
		}
		return nil, fmt.Errorf("session %s: %w", s.ID, st.err())
	}
	if len(s.uploading) > 0 {
		s.mu.Unlock()
		return nil, fmt.Errorf("session %s: %w", s.ID, ErrDiskBusy)
	}
	if err := s.readyLocked(); err != nil {
		s.touchLocked()
		s.mu.Unlock()
		return nil, err
	}
	s.state = stateCompleting
	disks := make([]*Disk, 0, len(s.disks))
	for _, d := range s.disks {
		disks = append(disks, d)
	}
	s.mu.Unlock()
	sort.Slice(disks, func(i, j int) bool { return disks[i].Name < disks[j].Name })

	start := time.Now()
	rc, err := s.commit(ctx, disks)
	s.mu.Lock()
	if err != nil {
		s.state, s.failure = stateFailed, err
		s.touchLocked() // the lease runs from the failure
	} else {
		s.state = stateCompleted
	}
	s.mu.Unlock()
	if err != nil {
		s.r.log.Error("session failed", "session", s.ID, "host", s.Info.Host, "vm", s.Info.VM, "err", err)
		s.job.SetError(fmt.Errorf("complete: %w", err))
		return nil, fmt.Errorf("session %s: %w: %w", s.ID, ErrSessionFailed, err)
	}
	var bytes, newBytes, stored int64
	for _, d := range disks {
		bytes += d.StreamBytes
		newBytes += d.NewBytes
		stored += d.StoredBytes
	}
	s.r.log.Info("session completed", "session", s.ID, "snapshot", rc.Snapshot, "host", s.Info.Host,
		"vm", s.Info.VM, "disks", len(disks), "bytes", bytes, "new_bytes", newBytes, "stored_bytes", stored,
		"duration", time.Since(s.Created).Round(time.Millisecond), "commit", time.Since(start).Round(time.Millisecond))
	s.r.forget(s)
	// The job's end only updates memory; the history's writer stores it.
	s.job.End(JobSuccess, nil, func(rec *JobRecord) {
		rec.SnapshotID, rec.Bytes, rec.NewBytes = rc.Snapshot, bytes, newBytes
	})
	return rc, nil
}

// readyLocked checks that the session holds every disk it must: at least
// one, none whose last upload failed, and each declared disk. s.mu is held.
func (s *Session) readyLocked() error {
	if len(s.failed) > 0 {
		names := sortedKeys(s.failed)
		why := make([]string, len(names))
		for i, n := range names {
			why[i] = fmt.Sprintf("%s (%v)", n, s.failed[n])
		}
		return fmt.Errorf("session %s: %w: %s (upload again or abort)", s.ID, ErrDiskFailed, strings.Join(why, ", "))
	}
	if len(s.disks) == 0 && len(s.Info.Disks) == 0 {
		return fmt.Errorf("session %s: %w", s.ID, ErrNoDisks)
	}
	var missing []string
	for _, n := range s.Info.Disks {
		if s.disks[n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("session %s: %w: %s", s.ID, ErrDiskMissing, strings.Join(missing, ", "))
	}
	return nil
}

func (s *Session) commit(ctx context.Context, disks []*Disk) (*receipt.Receipt, error) {
	r := s.r
	// 1, 2: every chunk the disks reference is in a durable, indexed pack.
	for _, d := range disks {
		for _, pe := range d.deps {
			select {
			case <-pe.added:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if err := r.packer.flush(ctx); err != nil {
		return nil, err
	}
	for _, d := range disks {
		for _, pe := range d.deps {
			if err := pe.wait(ctx); err != nil {
				return nil, fmt.Errorf("disk %s: %w", d.Name, err)
			}
		}
	}
	// Every chunk the disks reference must be indexed now: a last guard
	// before anything points at them (one read transaction per disk).
	for _, d := range disks {
		id, ok, err := r.idx.FirstMissing(d.Map.Chunks)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("disk %s: chunk %s: %w", d.Name, id.Short(), ErrMissingChunk)
		}
	}
	for _, d := range resolveParents(disks) {
		r.log.Warn("differencing disk stored without its parent: no disk of the session has its parent id",
			"session", s.ID, "disk", d.Name, "parent_id", d.Container.ParentID, "parent_locators", d.Container.ParentLocators)
	}
	// 3: disk maps, then the manifest with the signed receipt.
	exact := r.now().UTC()
	now := exact.Truncate(time.Second)
	m := &Manifest{
		Magic: ManifestMagic, Version: ManifestVersion, ID: newID(exact), Session: s.ID,
		Host: s.Info.Host, VM: s.Info.VM, Time: now, BackupType: s.Info.BackupType,
		Consistency: s.Info.Consistency, Writers: s.Info.Writers,
	}
	rc := receipt.Receipt{
		Session: s.ID, Snapshot: m.ID, Host: m.Host, VM: m.VM, BackupType: m.BackupType,
		Consistency: m.Consistency, CommittedAt: now,
		TruncateLogs: receipt.TruncateLogs(m.BackupType, m.Consistency),
	}
	// A prune may have listed the manifests already: the maps stay held
	// until this commit is over, whatever it takes.
	defer func() {
		for _, md := range m.Disks {
			r.maps.release(md.DiskMap, r.now())
		}
	}()
	for _, d := range disks {
		id, err := r.saveDiskMap(ctx, d.Map, true)
		if err != nil {
			return nil, fmt.Errorf("disk %s: %w", d.Name, err)
		}
		m.Disks = append(m.Disks, ManifestDisk{
			Name: d.Name, Format: d.Format, VirtualSize: d.Map.VirtualSize, FileSize: d.Map.RecipeSize(),
			StreamBytes: d.StreamBytes, StreamBLAKE3: d.StreamBLAKE3, NewBytes: d.NewBytes,
			StoredBytes: d.StoredBytes, DiskMap: id, Container: d.Container, Parent: d.Parent, Guest: d.Guest,
			Base: d.Base, ChangedBytes: d.Changed, RCTID: d.RCTID,
		})
		rd := receipt.Disk{
			Name: d.Name, Format: d.Format.String(), VirtualSize: d.Map.VirtualSize, StreamBytes: d.StreamBytes,
			StreamBLAKE3: d.StreamBLAKE3, NewBytes: d.NewBytes, StoredBytes: d.StoredBytes,
		}
		if d.Base != "" {
			rd.Base, rd.ChangedBytes, rd.DiskMap = d.Base, d.Changed, id.String()
		}
		rc.Disks = append(rc.Disks, rd)
	}
	// The objects the snapshot needs are locked at least as long as the
	// receipt says, before the manifest can list it.
	if l := backend.LockerOf(r.be); l != nil {
		if err := r.lockSnapshot(ctx, l, disks, m, &rc); err != nil {
			return nil, err
		}
	}
	if err := receipt.Sign(&rc, r.key); err != nil {
		return nil, err
	}
	m.Receipt = rc
	if doc := s.writerDoc(); doc != nil {
		ref, err := r.saveWriterMetadata(ctx, m.ID, doc)
		if err != nil {
			r.dropManifest(ctx, m.ID) // the document may be stored all the same
			return nil, err
		}
		m.WriterMetadata = ref
	}
	if r.cl != nil {
		gctx, cancel, err := r.cl.guardManifest(ctx, disks)
		if err != nil {
			return nil, err
		}
		defer cancel()
		ctx = gctx
	}
	data, err := r.saveManifest(ctx, m)
	if err != nil {
		r.dropManifest(ctx, m.ID) // it may be stored all the same
		return nil, err
	}
	// 4: the snapshot is committed, and only then does the receipt leave.
	if err := r.idx.PutSnapshot(m.ID, s.ID, data); err != nil {
		r.dropManifest(ctx, m.ID)
		return nil, fmt.Errorf("commit snapshot: %w", err)
	}
	maps := make([]*diskmap.Map, len(disks))
	for i, d := range disks {
		maps[i] = d.Map
	}
	r.views.committed(s.Info.Host, maps)
	return &rc, nil
}

// dropManifest removes the manifest of a complete that failed, so that a
// failed session leaves no snapshot. If the removal fails too, the manifest
// stays unlisted until the next start lists it (its data is durable) and
// check reports it meanwhile.
func (r *Repository) dropManifest(ctx context.Context, id string) {
	for _, h := range []backend.Handle{{Type: backend.TypeSnapshot, Name: id}, metadataHandle(id)} {
		if err := r.be.Remove(context.WithoutCancel(ctx), h); err != nil {
			r.log.Error("failed complete: object not removed", "object", h.String(), "err", err)
		}
	}
}

// ReceiptFor returns the receipt of a completed session.
func (r *Repository) ReceiptFor(session string) (*receipt.Receipt, error) {
	id, err := r.idx.SessionSnapshot(session)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", session, ErrUnknownSession)
	}
	m, err := r.Snapshot(id)
	if err != nil {
		return nil, err
	}
	rc := m.Receipt
	return &rc, nil
}

// CompleteSession completes the session id; for a session completed before
// (even before a restart) it returns the stored receipt.
func (r *Repository) CompleteSession(ctx context.Context, id string) (*receipt.Receipt, error) {
	s, err := r.Session(id)
	if errors.Is(err, ErrSessionClosed) {
		return r.ReceiptFor(id)
	}
	if err != nil {
		return nil, err
	}
	return s.Complete(ctx)
}
