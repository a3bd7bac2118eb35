package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Backup schedules are kept like policies: a record in the index, and a
// copy in the backend (schedules/<BLAKE3 of the name>, JSON
// {"name","schedule"}) written first, so that a rebuild of a lost index
// gets them back. The records are opaque here: the API checks them.
//
// Host inventories (the VMs an agent reported) are in the index only:
// agents report them again at every start and every few minutes, so a
// lost index loses nothing that does not come back.

func scheduleHandle(name string) backend.Handle {
	return backend.Handle{Type: backend.TypeSchedule, Name: chunk.Sum([]byte(name)).String()}
}

// storedSchedule is a schedule object in the backend.
type storedSchedule struct {
	Name     string          `json:"name"`
	Schedule json.RawMessage `json:"schedule"`
}

// PutSchedule stores a named schedule record, in the backend and then the
// index.
func (r *Repository) PutSchedule(name string, record []byte) error {
	obj, _ := json.Marshal(storedSchedule{Name: name, Schedule: record})
	if err := r.putObject(scheduleHandle(name), obj); err != nil {
		return fmt.Errorf("store schedule %s: %w", name, err)
	}
	return r.idx.PutSchedule(name, record)
}

// DeleteSchedule removes a schedule, from the backend and then the index;
// index.ErrNotFound when there is none.
func (r *Repository) DeleteSchedule(name string) error {
	found := false
	if err := r.idx.Schedules(func(n string, _ []byte) error { found = found || n == name; return nil }); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("schedule %s: %w", name, index.ErrNotFound)
	}
	if err := r.removeObject(scheduleHandle(name)); err != nil {
		return fmt.Errorf("remove schedule %s: %w", name, err)
	}
	return r.idx.DeleteSchedule(name)
}

// Schedules calls fn with every schedule record, ordered by name.
func (r *Repository) Schedules(fn func(name string, record []byte) error) error {
	return r.idx.Schedules(fn)
}

// PutInventory stores a host's inventory report (index only).
func (r *Repository) PutInventory(host string, record []byte) error {
	return r.idx.PutInventory(host, record)
}

// Inventories calls fn with every host's inventory report, ordered by
// host.
func (r *Repository) Inventories(fn func(host string, record []byte) error) error {
	return r.idx.Inventories(fn)
}

// syncSchedules stores in the backend every schedule of the index it
// lacks, and with restore set puts into the index what the backend holds
// and the index lacks (after a rebuild of a lost index). It returns how
// many came back into the index.
func (r *Repository) syncSchedules(ctx context.Context, restore bool) (int, error) {
	inBackend := map[string][]byte{}
	err := r.be.List(ctx, backend.TypeSchedule, func(fi backend.ObjectInfo) error {
		data, err := readObject(ctx, r.be, fi)
		if errors.Is(err, backend.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var ss storedSchedule
		if json.Unmarshal(data, &ss) != nil || ss.Name == "" || scheduleHandle(ss.Name) != fi.Handle {
			r.log.Warn("skipping a damaged schedule object", "object", fi.Handle.String())
			return nil
		}
		inBackend[ss.Name] = ss.Schedule
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list schedules: %w", err)
	}
	inIndex := map[string]bool{}
	err = r.idx.Schedules(func(name string, rec []byte) error {
		inIndex[name] = true
		if _, ok := inBackend[name]; !ok {
			obj, _ := json.Marshal(storedSchedule{Name: name, Schedule: rec})
			return r.putObject(scheduleHandle(name), obj)
		}
		return nil
	})
	if err != nil || !restore {
		return 0, err
	}
	n := 0
	for name, rec := range inBackend {
		if !inIndex[name] {
			if err := r.idx.PutSchedule(name, rec); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
