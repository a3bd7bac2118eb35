package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// ErrProtected is returned when removing a protected snapshot.
var ErrProtected = errors.New("snapshot is protected")

// ForgetSnapshot removes one snapshot. The forget is decided in one index
// transaction that unlists the snapshot and records it as pending; then its
// manifest is removed from the backend and the pending record cleared. A
// crash in between leaves the snapshot removed: the next start (or a
// repeated forget, or a rebuild) finishes the removal, and a rebuilt index
// never lists it again. Its chunks stay until a prune finds them
// unreferenced.
func (r *Repository) forgetSnapshot(ctx context.Context, id string) error {
	r.catMu.RLock()
	defer r.catMu.RUnlock()
	if _, err := r.Snapshot(id); err != nil {
		pending, perr := r.idx.PendingForgets()
		if perr == nil && pending[id] {
			return r.finishForget(ctx, id) // a forget interrupted before: finish it
		}
		return err
	}
	prot, err := r.idx.Protected()
	if err != nil {
		return err
	}
	if prot[id] {
		return fmt.Errorf("forget snapshot %s: %w", id, ErrProtected)
	}
	if err := r.idx.BeginForget(id); errors.Is(err, index.ErrNotFound) {
		return fmt.Errorf("snapshot %s: %w", id, ErrUnknownSnapshot)
	} else if err != nil {
		return fmt.Errorf("forget snapshot %s: %w", id, err)
	}
	r.views.forgot() // the snapshot is unlisted: hosts' views are built again
	return r.finishForget(ctx, id)
}

// finishForget removes the manifest of a snapshot whose forget is pending
// and clears the record. Removing a missing manifest is not an error.
func (r *Repository) finishForget(ctx context.Context, id string) error {
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.TypeSnapshot, Name: id}); err != nil {
		return fmt.Errorf("forget snapshot %s: remove manifest (the forget is decided and finishes at the next start): %w", id, err)
	}
	if err := r.be.Remove(ctx, metadataHandle(id)); err != nil {
		return fmt.Errorf("forget snapshot %s: remove writer metadata: %w", id, err)
	}
	if err := r.idx.EndForget(id); err != nil {
		return fmt.Errorf("forget snapshot %s: %w", id, err)
	}
	return nil
}

// finishForgets finishes every forget a crash or a storage error
// interrupted.
func (r *Repository) finishForgets(ctx context.Context) error {
	pending, err := r.idx.PendingForgets()
	if err != nil {
		return err
	}
	for id := range pending {
		if err := r.finishForget(ctx, id); err != nil {
			return err
		}
		r.log.Info("interrupted forget finished", "snapshot", id)
	}
	return nil
}

// SetProtected protects a snapshot from every policy and from deletion, or
// lifts the protection. The mark is kept in the backend too, so that it
// survives a rebuilt index.
func (r *Repository) SetProtected(ctx context.Context, id string, on bool) error {
	if _, err := r.Snapshot(id); err != nil {
		return err
	}
	h := backend.Handle{Type: backend.TypeProtect, Name: id}
	var err error
	if on {
		err = r.be.Put(ctx, h, bytes.NewReader(nil), 0)
	} else {
		err = r.be.Remove(ctx, h)
	}
	if err != nil {
		return fmt.Errorf("protect snapshot %s: %w", id, err)
	}
	return r.idx.SetProtected(id, on)
}

// Protected returns the protected snapshot ids.
func (r *Repository) Protected() (map[string]bool, error) { return r.idx.Protected() }

// ForgetRequest selects snapshots and the policy to apply.
type ForgetRequest struct {
	Host   string  `json:"host"`
	VM     string  `json:"vm"`
	Policy *Policy `json:"policy"`
	DryRun bool    `json:"dry_run"`
}

// ForgetResult lists every snapshot considered, kept (with the reasons) or
// removed.
type ForgetResult struct {
	Keep   []Decision `json:"keep"`
	Remove []Decision `json:"remove"`
	DryRun bool       `json:"dry_run"`
}

// Forget applies a policy (or the stored policies) to each host and VM and,
// unless it is a dry run, removes the snapshots no rule keeps.
func (r *Repository) Forget(ctx context.Context, req ForgetRequest) (ForgetResult, error) {
	res := ForgetResult{Keep: []Decision{}, Remove: []Decision{}, DryRun: req.DryRun}
	if req.Policy != nil {
		if err := req.Policy.Validate(); err != nil {
			return res, err
		}
	}
	stored, err := r.Policies()
	if err != nil {
		return res, err
	}
	prot, err := r.idx.Protected()
	if err != nil {
		return res, err
	}
	snaps, err := r.Snapshots(Filter{Host: req.Host, VM: req.VM})
	if err != nil {
		return res, err
	}
	groups := map[[2]string][]*Manifest{}
	for _, m := range snaps {
		k := [2]string{m.Host, m.VM}
		groups[k] = append(groups[k], m)
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	for _, k := range keys {
		keep, remove := decideGroup(groups[k], req.Policy, stored, prot)
		res.Keep = append(res.Keep, keep...)
		res.Remove = append(res.Remove, remove...)
	}
	if req.DryRun {
		return res, nil
	}
	// A forget that changes the catalogue is a job (a dry run is not).
	r.runJob(ctx, JobRecord{Kind: JobForget, Host: req.Host, VM: req.VM}, func(j *JobRun) error {
		j.Logger().Info("forget", "keep", len(res.Keep), "remove", len(res.Remove))
		for _, d := range res.Remove {
			if err = r.forgetSnapshot(ctx, d.Snapshot); err != nil {
				return err
			}
			j.Logger().Info("snapshot forgotten", "snapshot", d.Snapshot, "host", d.Host, "vm", d.VM)
		}
		return nil
	})
	return res, err
}

// decideGroup applies one explicit policy, or every stored policy that
// matches the group (a snapshot is kept if any keeps it; with none, all are
// kept).
func decideGroup(snaps []*Manifest, explicit *Policy, stored map[string]Policy, prot map[string]bool) (keep, remove []Decision) {
	if explicit != nil {
		return explicit.Apply(snaps, prot)
	}
	reasons := map[string][]string{}
	matched := false
	names := make([]string, 0, len(stored))
	for n := range stored {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p := stored[name]
		if !p.Match.Matches(snaps[0].Host, snaps[0].VM) {
			continue
		}
		matched = true
		k, _ := p.Apply(snaps, prot)
		for _, d := range k {
			for _, why := range d.Reasons {
				reasons[d.Snapshot] = append(reasons[d.Snapshot], name+": "+why)
			}
		}
	}
	if !matched {
		return Policy{}.Apply(snaps, prot)
	}
	all, _ := Policy{}.Apply(snaps, prot) // every snapshot, newest first
	for _, d := range all {
		d.Reasons = reasons[d.Snapshot]
		if len(d.Reasons) > 0 {
			keep = append(keep, d)
		} else {
			remove = append(remove, d)
		}
	}
	return keep, remove
}

// Policies returns the stored policies by name.
func (r *Repository) Policies() (map[string]Policy, error) {
	out := map[string]Policy{}
	err := r.idx.Policies(func(name string, rec []byte) error {
		var p Policy
		if err := json.Unmarshal(rec, &p); err != nil {
			return fmt.Errorf("policy %s: %w", name, err)
		}
		out[name] = p
		return nil
	})
	return out, err
}
