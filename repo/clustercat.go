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
	// push stores in the backend what the index holds under key.
	push func(key string) error
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
			if err := c.markSeen(fi.Handle); err != nil {
				return err
			}
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
			if err := c.dropOrPush(m, h, key); err != nil {
				return fmt.Errorf("mirror %s: %w", m.t, err)
			}
		}
	}
	return nil
}

// seenKey is the cluster key that records that h was seen in the bucket.
func seenKey(h backend.Handle) string { return "seen/" + h.String() }

// markSeen records that h is in the bucket.
func (c *cluster) markSeen(h backend.Handle) error {
	if v, err := c.r.idx.ClusterValue(seenKey(h)); err != nil || v != nil {
		return err
	}
	return c.r.idx.SetClusterValue(seenKey(h), []byte{1})
}

// dropOrPush settles a setting the index holds and the bucket does not:
// one the bucket held before was removed by a node, and goes; one it
// never held was made here with the server stopped (token create on the
// index), and is stored in the bucket.
func (c *cluster) dropOrPush(m mirrored, h backend.Handle, key string) error {
	v, err := c.r.idx.ClusterValue(seenKey(h))
	if err != nil {
		return err
	}
	if v == nil {
		if err := m.push(key); err != nil {
			return err
		}
		c.r.log.Info("setting made on this node's index stored in the bucket", "object", h.String())
		return c.markSeen(h)
	}
	delete(c.settings, h)
	if err := m.del(key); err != nil && !errors.Is(err, index.ErrNotFound) {
		return err
	}
	return c.r.idx.SetClusterValue(seenKey(h), nil)
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
			del: r.idx.DeleteToken,
			push: func(id string) error {
				return pushRecord(r.idx.Tokens, id, func(rec []byte) error { return r.putObject(tokenHandle(id), rec) })
			}},
		{t: backend.TypePolicy, local: byName(r.idx.Policies, policyHandle),
			put: func(h backend.Handle, data []byte) error {
				var sp storedPolicy
				if json.Unmarshal(data, &sp) != nil || sp.Name == "" || policyHandle(sp.Name) != h {
					r.log.Warn("skipping a damaged policy object", "object", h.String())
					return nil
				}
				return r.idx.PutPolicy(sp.Name, sp.Policy)
			},
			del: r.idx.DeletePolicy,
			push: func(name string) error {
				return pushRecord(r.idx.Policies, name, func(rec []byte) error {
					obj, _ := json.Marshal(storedPolicy{Name: name, Policy: rec})
					return r.putObject(policyHandle(name), obj)
				})
			}},
		{t: backend.TypeSchedule, local: byName(r.idx.Schedules, scheduleHandle),
			put: func(h backend.Handle, data []byte) error {
				var ss storedSchedule
				if json.Unmarshal(data, &ss) != nil || ss.Name == "" || scheduleHandle(ss.Name) != h {
					r.log.Warn("skipping a damaged schedule object", "object", h.String())
					return nil
				}
				return r.idx.PutSchedule(ss.Name, ss.Schedule)
			},
			del: r.idx.DeleteSchedule,
			push: func(name string) error {
				return pushRecord(r.idx.Schedules, name, func(rec []byte) error {
					obj, _ := json.Marshal(storedSchedule{Name: name, Schedule: rec})
					return r.putObject(scheduleHandle(name), obj)
				})
			}},
		{t: backend.TypeProtect,
			local: func() (map[backend.Handle]string, error) {
				prot, err := r.idx.Protected()
				out := map[backend.Handle]string{}
				for id := range prot {
					out[backend.Handle{Type: backend.TypeProtect, Name: id}] = id
				}
				return out, err
			},
			put:  func(h backend.Handle, _ []byte) error { return r.idx.SetProtected(h.Name, true) },
			del:  func(id string) error { return r.idx.SetProtected(id, false) },
			push: func(id string) error { return r.putObject(backend.Handle{Type: backend.TypeProtect, Name: id}, nil) }},
	}
}

// pushRecord stores the record each holds under key with put.
func pushRecord(each func(fn func(string, []byte) error) error, key string, put func([]byte) error) error {
	var rec []byte
	err := each(func(k string, v []byte) error {
		if k == key {
			rec = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil || rec == nil {
		return err
	}
	return put(rec)
}
