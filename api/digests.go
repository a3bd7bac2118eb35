package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
)

// digester computes the block digests of snapshot disks once each and
// keeps them in the repository: on the first request for them, or right
// after the backup when Options.PrecomputeDigests is set.
type digester struct {
	mu      sync.Mutex
	running map[chunk.ID]chan struct{} // by disk map, guarded by mu
	slots   chan struct{}              // computations for requests at once
	bgSlots chan struct{}              // background computations at once
}

// getDigests serves GET /api/v1/snapshots/{id}/disks/{name}/digests.
func (s *Server) getDigests(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Has("block") {
		s.rangeDigests(w, r, m)
		return
	}
	bs, digests, err := s.digests(r.Context(), m, chi.URLParam(r, "name"), false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(apiv1.BlockSizeHeader, strconv.FormatInt(bs, 10))
	w.Header().Set("Content-Length", strconv.Itoa(len(digests)))
	if _, err := s.bodyWriter(w).Write(digests); err != nil {
		logger(r).Warn("digests cut off", "snapshot", m.ID, "err", err)
	}
}

// maxDigestBlocks bounds the stored digests of a disk (128 MiB of them,
// a 4 TiB disk); a larger disk has none (NO_DIGESTS), and its agent sends
// it whole or with a change list.
const maxDigestBlocks = 1 << 22

// maxRangeDigests bounds the blocks of one range digests request, and
// maxRangeBytes the content it reads.
const (
	maxRangeDigests = 16384
	maxRangeBytes   = 256 << 20
)

// rangeDigests serves ?block=B&from=F&count=C: the digests of C blocks of
// B bytes (a power of two from 4 KiB to the stored digests' block) from
// block F on, computed from the content, not kept.
func (s *Server) rangeDigests(w http.ResponseWriter, r *http.Request, m *repo.Manifest) {
	q := r.URL.Query()
	bs, err1 := strconv.ParseInt(q.Get("block"), 10, 64)
	from, err2 := strconv.ParseInt(q.Get("from"), 10, 64)
	count, err3 := strconv.ParseInt(q.Get("count"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || bs < 4096 || bs > restore.DigestBlock || bs&(bs-1) != 0 ||
		from < 0 || count < 1 || count > maxRangeDigests || count*bs > maxRangeBytes || from > (1<<62)/bs {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest,
			fmt.Sprintf("block (a power of two, 4096 to %d), from (>= 0) and count (1 to %d, at most %d MiB of content) are needed",
				restore.DigestBlock, maxRangeDigests, maxRangeBytes>>20)))
		return
	}
	d, err := restore.Open(r.Context(), s.maps, m, chi.URLParam(r, "name"), restore.Raw)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if from*bs >= d.VirtualSize() {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, fmt.Sprintf("block %d is past the disk's end", from)))
		return
	}
	digests, err := d.RangeDigests(r.Context(), from*bs, count*bs, bs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(apiv1.BlockSizeHeader, strconv.FormatInt(bs, 10))
	w.Header().Set("Content-Length", strconv.Itoa(len(digests)))
	if _, err := s.bodyWriter(w).Write(digests); err != nil {
		logger(r).Warn("digests cut off", "snapshot", m.ID, "err", err)
	}
}

// digests loads the stored digests of disk name of m, computing and
// storing them first if there are none. One computation per disk map runs
// at a time; a second caller waits for it.
//
// Computations asked for by a request and those after a backup take
// slots of their own, so that an agent never waits behind the background
// work of another disk.
func (s *Server) digests(ctx context.Context, m *repo.Manifest, name string, background bool) (int64, []byte, error) {
	md, ok := m.Disk(name)
	if !ok {
		_, err := restore.Open(ctx, s.maps, m, name, restore.Raw) // the same error as a restore
		return 0, nil, err
	}
	if md.VirtualSize/restore.DigestBlock > maxDigestBlocks {
		return 0, nil, errf(http.StatusConflict, apiv1.CodeNoDigests,
			fmt.Sprintf("disk of %d bytes: block digests are kept for disks up to %d TiB", md.VirtualSize, maxDigestBlocks*restore.DigestBlock>>40))
	}
	if md.Parent != "" {
		// A differencing disk's content depends on its parent too: its
		// digests are not kept under its disk map alone.
		d, err := restore.Open(ctx, s.maps, m, name, restore.Raw)
		if err != nil {
			return 0, nil, err
		}
		digests, err := d.Digests(ctx, restore.DigestBlock, nil, nil)
		return restore.DigestBlock, digests, err
	}
	d := &s.dig
	for {
		bs, digests, err := s.repo.LoadDigests(ctx, md.DiskMap)
		if err == nil && bs == restore.DigestBlock {
			return bs, digests, nil
		}
		if err != nil && !errors.Is(err, repo.ErrNoDigests) && !errors.Is(err, repo.ErrCorrupt) {
			return 0, nil, err
		}
		d.mu.Lock()
		if d.running == nil {
			d.running, d.slots, d.bgSlots = map[chunk.ID]chan struct{}{}, make(chan struct{}, 2), make(chan struct{}, 1)
		}
		if ch := d.running[md.DiskMap]; ch != nil {
			d.mu.Unlock()
			select {
			case <-ch:
				continue // computed meanwhile: load it
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		d.running[md.DiskMap] = ch
		slots := d.slots
		if background {
			slots = d.bgSlots
		}
		d.mu.Unlock()
		digests, err = s.computeDigests(ctx, slots, m, md)
		d.mu.Lock()
		delete(d.running, md.DiskMap)
		close(ch)
		d.mu.Unlock()
		return restore.DigestBlock, digests, err
	}
}

// computeDigests hashes the disk's content, reusing the digests of the
// disk it was based on (an incremental disk's base, or the same disk of
// the snapshot before) where the chunks are the same, and stores them.
func (s *Server) computeDigests(ctx context.Context, slots chan struct{}, m *repo.Manifest, md repo.ManifestDisk) ([]byte, error) {
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d, err := restore.Open(ctx, s.maps, m, md.Name, restore.Raw)
	if err != nil {
		return nil, err
	}
	prev, prevDigests := s.previousDigests(ctx, m, md)
	digests, err := d.Digests(ctx, restore.DigestBlock, prev, prevDigests)
	if err != nil {
		return nil, err
	}
	if err := s.repo.SaveDigests(ctx, md.DiskMap, restore.DigestBlock, digests); err != nil {
		s.log.Warn("block digests not kept", "snapshot", m.ID, "disk", md.Name, "err", err)
	}
	return digests, nil
}

// previousDigests opens the disk md most likely shares blocks with, if its
// digests are stored: the base of an incremental disk, else the same disk
// in the newest earlier snapshot of the host and VM.
func (s *Server) previousDigests(ctx context.Context, m *repo.Manifest, md repo.ManifestDisk) (*restore.Disk, []byte) {
	var prev *repo.Manifest
	if md.Base != "" {
		prev, _ = s.repo.Snapshot(md.Base)
	}
	if prev == nil {
		list, _ := s.repo.Snapshots(repo.Filter{Host: m.Host, VM: m.VM})
		for i := len(list) - 1; i >= 0; i-- {
			if _, ok := list[i].Disk(md.Name); ok && list[i].ID < m.ID {
				prev = list[i]
				break
			}
		}
	}
	if prev == nil || prev.Host != m.Host {
		return nil, nil
	}
	pd, ok := prev.Disk(md.Name)
	if !ok {
		return nil, nil
	}
	bs, digests, err := s.repo.LoadDigests(ctx, pd.DiskMap)
	if err != nil || bs != restore.DigestBlock {
		return nil, nil
	}
	d, err := restore.Open(ctx, s.maps, prev, md.Name, restore.Raw)
	if err != nil {
		return nil, nil
	}
	return d, digests
}

// precomputeDigests computes, in the background, the digests of every disk
// of a snapshot just taken, so that the next incremental backup finds them.
func (s *Server) precomputeDigests(snapshot string) {
	if !s.opts.PrecomputeDigests {
		return
	}
	go func() {
		m, err := s.repo.Snapshot(snapshot)
		if err != nil {
			return
		}
		for _, d := range m.Disks {
			if _, _, err := s.digests(context.Background(), m, d.Name, true); err != nil {
				s.log.Warn("block digests not computed", "snapshot", snapshot, "disk", d.Name, "err", err)
			}
		}
	}()
}
