package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// The catalogue and the settings of a cluster node mirror the bucket.
// Every change a node makes goes to the backend first and to its index
// after, so reading the index before listing the backend sees, for each
// entry, either both or the backend alone: an entry the index listed and
// the backend lacks was removed by another node, never one still being
// written here.

// listedIDs returns the ids of the snapshots the index lists.
func (r *Repository) listedIDs() (map[string]bool, error) {
	out := map[string]bool{}
	err := r.idx.Snapshots(func(id string, _ []byte) error { out[id] = true; return nil })
	return out, err
}

// syncCatalogue lists the manifests other nodes stored (when the index
// holds their data; else at a later refresh) and unlists the snapshots
// whose manifest another node removed. local was read before stored was
// listed.
func (c *cluster) syncCatalogue(ctx context.Context, local map[string]bool, stored map[string]backend.ObjectInfo) error {
	r := c.r
	pending, err := r.idx.PendingForgets()
	if err != nil {
		return err
	}
	changed := false
	for id, fi := range stored {
		if local[id] || pending[id] {
			continue
		}
		if _, err := r.idx.Snapshot(id); err == nil {
			continue // committed here since
		} else if !errors.Is(err, index.ErrNotFound) {
			return err
		}
		if r.completing(ctx, fi) {
			continue
		}
		c.stats.gets.Add(1)
		ok, err := r.adopt(ctx, fi)
		if err != nil {
			return fmt.Errorf("import snapshot %s: %w", id, err)
		}
		if !ok {
			r.log.Debug("snapshot of another node not imported yet: its data is not indexed", "snapshot", id)
			continue
		}
		c.stats.snapshotsImported.Add(1)
		changed = true
	}
	r.catMu.RLock() // as a forget: no rebuild settles its listing meanwhile
	for id := range local {
		if _, ok := stored[id]; ok || pending[id] {
			continue
		}
		if err := r.idx.DeleteSnapshot(id); err != nil {
			r.catMu.RUnlock()
			return err
		}
		_ = r.idx.SetProtected(id, false)
		c.stats.snapshotsDropped.Add(1)
		changed = true
		r.log.Info("snapshot forgotten on another node unlisted", "snapshot", id)
	}
	r.catMu.RUnlock()
	if changed {
		r.views.forgot() // hosts' views are built again
	}
	return nil
}

// mirrored is one kind of setting kept in the backend and the index.
type mirrored struct {
	t backend.Type
	// local returns the handles of what the index holds, with the key
	// each is held under.
	local func() (map[backend.Handle]string, error)
	put   func(h backend.Handle, data []byte) error
	del   func(key string) error
}

// syncSettings makes tokens, policies, schedules and protection marks
// those of the backend. An object is read again only when it is new or
// its size changed.
func (c *cluster) syncSettings(ctx context.Context) error {
	for _, m := range c.r.mirroredSettings() {
		have, err := m.local()
		if err != nil {
			return err
		}
		c.stats.lists.Add(1)
		seen := map[backend.Handle]bool{}
		err = c.r.be.List(ctx, m.t, func(fi backend.ObjectInfo) error {
			seen[fi.Handle] = true
			if _, ok := have[fi.Handle]; ok && c.settings[fi.Handle] == fi.Size {
				return nil
			}
			var data []byte
			if fi.Size > 0 {
				c.stats.gets.Add(1)
				d, err := backend.ReadAll(ctx, c.r.be, fi.Handle)
				if errors.Is(err, backend.ErrNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				data = d
			}
			if err := m.put(fi.Handle, data); err != nil {
				return err
			}
			c.settings[fi.Handle] = fi.Size
			return nil
		})
		if err != nil {
			return fmt.Errorf("mirror %s: %w", m.t, err)
		}
		for h, key := range have {
			if seen[h] {
				continue
			}
			delete(c.settings, h)
			if err := m.del(key); err != nil && !errors.Is(err, index.ErrNotFound) {
				return fmt.Errorf("mirror %s: %w", m.t, err)
			}
		}
	}
	return nil
}

// mirroredSettings describes the settings a cluster node mirrors.
func (r *Repository) mirroredSettings() []mirrored {
	byName := func(each func(fn func(string, []byte) error) error, handle func(string) backend.Handle) func() (map[backend.Handle]string, error) {
		return func() (map[backend.Handle]string, error) {
			out := map[backend.Handle]string{}
			err := each(func(k string, _ []byte) error { out[handle(k)] = k; return nil })
			return out, err
		}
	}
	return []mirrored{
		{t: backend.TypeToken, local: byName(r.idx.Tokens, tokenHandle),
			put: func(h backend.Handle, data []byte) error { return r.idx.PutToken(h.Name, data) },
			del: r.idx.DeleteToken},
		{t: backend.TypePolicy, local: byName(r.idx.Policies, policyHandle),
			put: func(h backend.Handle, data []byte) error {
				var sp storedPolicy
				if json.Unmarshal(data, &sp) != nil || sp.Name == "" || policyHandle(sp.Name) != h {
					r.log.Warn("skipping a damaged policy object", "object", h.String())
					return nil
				}
				return r.idx.PutPolicy(sp.Name, sp.Policy)
			},
			del: r.idx.DeletePolicy},
		{t: backend.TypeSchedule, local: byName(r.idx.Schedules, scheduleHandle),
			put: func(h backend.Handle, data []byte) error {
				var ss storedSchedule
				if json.Unmarshal(data, &ss) != nil || ss.Name == "" || scheduleHandle(ss.Name) != h {
					r.log.Warn("skipping a damaged schedule object", "object", h.String())
					return nil
				}
				return r.idx.PutSchedule(ss.Name, ss.Schedule)
			},
			del: r.idx.DeleteSchedule},
		{t: backend.TypeProtect,
			local: func() (map[backend.Handle]string, error) {
				prot, err := r.idx.Protected()
				out := map[backend.Handle]string{}
				for id := range prot {
					out[backend.Handle{Type: backend.TypeProtect, Name: id}] = id
				}
				return out, err
			},
			put: func(h backend.Handle, _ []byte) error { return r.idx.SetProtected(h.Name, true) },
			del: func(id string) error { return r.idx.SetProtected(id, false) }},
	}
}
