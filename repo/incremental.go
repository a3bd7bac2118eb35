package repo

import (
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// ErrNoBase is returned for an incremental upload whose base snapshot the
// session's host has no disk of that name in.
var ErrNoBase = errors.New("no base snapshot holds the disk")

// BaseSnapshot finds the snapshot an incremental upload of disk name in
// session s builds on: the snapshot id, or with "latest" the newest
// snapshot of the session's host and VM that holds the disk. A snapshot of
// another host is reported exactly as one that does not exist.
func (s *Session) BaseSnapshot(id, name string) (*Manifest, error) {
	r := s.r
	if id != "latest" {
		m, err := r.Snapshot(id)
		if err != nil || m.Host != s.Info.Host {
			return nil, fmt.Errorf("base %s: %w", id, ErrUnknownSnapshot)
		}
		if _, ok := m.Disk(name); !ok {
			return nil, fmt.Errorf("base %s, disk %s: %w", id, name, ErrNoBase)
		}
		return m, nil
	}
	list, err := r.Snapshots(Filter{Host: s.Info.Host, VM: s.Info.VM})
	if err != nil {
		return nil, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if _, ok := list[i].Disk(name); ok {
			return list[i], nil
		}
	}
	return nil, fmt.Errorf("latest snapshot of %s/%s with disk %s: %w", s.Info.Host, s.Info.VM, name, ErrNoBase)
}

// Reuse records that the upload references chunks it does not save: the
// base disk's, for an incremental upload. A prune running now or later
// keeps them, like chunks a saver found stored; each must still be
// indexed, else ErrNoBase: a forget and a prune removed the base's data
// since it was read (the agent then sends the disk whole).
func (u *Upload) Reuse(ids []chunk.ID) error {
	u.mu.Lock()
	for _, id := range ids {
		u.refs = append(u.refs, prefix(id))
	}
	u.mu.Unlock()
	return u.s.r.packer.hold(ids)
}

// hold marks chunks as depended on by a running backup (see save) and
// checks that they are indexed. Each batch is looked at under the lock a
// prune commits under, so a chunk found indexed here stays; between
// batches, savers and prunes go on.
func (p *packer) hold(ids []chunk.ID) error {
	const batch = 16384
	for len(ids) > 0 {
		n := min(batch, len(ids))
		if err := p.holdBatch(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (p *packer) holdBatch(ids []chunk.ID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tracked != nil {
		for _, id := range ids {
			p.tracked[id] = struct{}{}
		}
	}
	missing, err := p.idx.Missing(ids)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("the base was pruned meanwhile: %d of its chunks are gone, %s first: %w", len(missing), missing[0].Short(), ErrNoBase)
	}
	return nil
}
