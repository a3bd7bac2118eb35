package replicate

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
)

// Run copies the snapshots of src that o selects and dst lacks, oldest
// first, and returns what it did. A snapshot dst has is skipped (marked
// protected if o asks and the source's is). The first error stops the
// sync; what was stored stays for the next run.
func Run(ctx context.Context, src Source, dst Target, o Options, limit *Limiter) (Stats, error) {
	if err := o.defaults(); err != nil {
		return Stats{}, err
	}
	info, err := src.Info(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("source: %w", err)
	}
	if info.RepositoryID == "" {
		return Stats{}, errors.New("source: no repository id")
	}
	c := &counters{source: info.RepositoryID}
	fp, err := dst.Fingerprint(ctx)
	if err != nil {
		return c.stats(), fmt.Errorf("target: %w", err)
	}
	identity := info.IDFingerprint == fp
	// A plain source's IDs can be checked by anyone; equal fingerprints
	// mean the target's own hash is the source's ID.
	checkPlain := info.IDScheme == apiv1.IDSchemePlain && !identity
	snaps, err := src.Snapshots(ctx)
	if err != nil {
		return c.stats(), fmt.Errorf("source: list snapshots: %w", err)
	}
	log := o.Logger
	log.Info("sync started", "source", info.RepositoryID, "snapshots", len(snaps), "same_ids", identity)
	for _, s := range snaps {
		m := s.Manifest
		if !o.selected(m.Host, m.VM, m.Time) {
			continue
		}
		if err := validManifest(m); err != nil {
			return c.stats(), fmt.Errorf("source: %w", err)
		}
		state, prot, err := dst.Has(ctx, info.RepositoryID, m.ID)
		if err != nil {
			return c.stats(), err
		}
		protect := o.KeepProtected && s.Protected
		if state == repo.ReplicaForgotten {
			c.skippedSnap.Add(1) // the target's retention removed it
			continue
		}
		if state == repo.ReplicaListed {
			c.skippedSnap.Add(1)
			if protect && !prot {
				if err := dst.Protect(ctx, info.RepositoryID, m.ID); err != nil {
					return c.stats(), err
				}
			}
			continue
		}
		cp := &copier{src: src, o: &o, c: c, limit: limit, identity: identity, checkPlain: checkPlain}
		err = cp.snapshot(ctx, dst, info, m, protect)
		if errors.Is(err, repo.ErrSnapshotExists) {
			c.skippedSnap.Add(1) // another sync stored it meanwhile
			continue
		}
		if err != nil {
			return c.stats(), fmt.Errorf("snapshot %s (%s/%s): %w", m.ID, m.Host, m.VM, err)
		}
		c.snapshots.Add(1)
		log.Info("snapshot copied", "snapshot", m.ID, "host", m.Host, "vm", m.VM,
			"chunks_sent", c.sent.Load(), "chunks_skipped", c.skipped.Load())
		if o.Progress != nil {
			o.Progress(c.stats())
		}
	}
	st := c.stats()
	log.Info("sync done", "source", st.Source, "snapshots", st.Snapshots, "snapshots_skipped", st.SnapshotsSkipped,
		"chunks_sent", st.ChunksSent, "chunks_skipped", st.ChunksSkipped, "bytes_sent", st.BytesSent, "bytes_stored", st.BytesStored)
	return st, nil
}

// unmapper is an Import that can drop replica map entries.
type unmapper interface{ Unmap(srcs []chunk.ID) error }

// copier copies snapshots of one source.
type copier struct {
	// srcIDs are the source chunk IDs of the snapshot being copied, kept
	// for Unmap when Verify is on.
	srcIDs     []chunk.ID
	src        Source
	o          *Options
	c          *counters
	limit      *Limiter
	identity   bool // source and target IDs are the same
	checkPlain bool // the source's IDs are plain BLAKE3: check them
}

// snapshot copies one snapshot: its disks' chunks, then the commit.
func (cp *copier) snapshot(ctx context.Context, dst Target, info apiv1.ReplicationInfo, m *repo.Manifest, protect bool) error {
	im, err := dst.Begin(ctx, info)
	if err != nil {
		return err
	}
	defer im.Close()
	committed := false
	defer func() {
		if !committed {
			// What arrived is kept for the next run: made durable and
			// entered in the map, even though this run failed.
			_ = im.Settle(context.WithoutCancel(ctx))
		}
	}()
	out := *m
	out.Disks = append([]repo.ManifestDisk(nil), m.Disks...)
	maps := make([]*diskmap.Map, len(out.Disks))
	for i, d := range out.Disks {
		if maps[i], err = cp.disk(ctx, im, d); err != nil {
			return fmt.Errorf("disk %s: %w", d.Name, err)
		}
		if err := im.Settle(ctx); err != nil {
			return fmt.Errorf("disk %s: %w", d.Name, err)
		}
	}
	if cp.o.Verify {
		v, ok := dst.(verifier)
		if !ok {
			return fmt.Errorf("verify: the target cannot read a copy back (a push target checks chunks only)")
		}
		n, err := v.Verify(ctx, &out, maps)
		if errors.Is(err, ErrVerify) {
			// What arrived is not trusted again: the next sync fetches it.
			if u, ok := im.(unmapper); ok {
				if uerr := u.Unmap(cp.srcIDs); uerr != nil {
					cp.o.Logger.Error("verify failed and the replica map kept its entries", "snapshot", m.ID, "err", uerr)
				}
			}
		}
		if err != nil {
			return err
		}
		cp.c.verified.Add(int64(n))
	}
	var doc []byte
	if m.WriterMetadata != nil {
		if doc, err = cp.src.WriterMetadata(ctx, m.ID); err != nil {
			return fmt.Errorf("writer metadata: %w", err)
		}
	}
	if err := im.Commit(ctx, &out, maps, doc, protect); err != nil {
		return err
	}
	committed = true
	return nil
}

// validManifest checks what a target takes as names from a source's
// manifest: the snapshot id (an object name), host, VM and disk names (in
// routes and listings), as an upload would have been checked.
func validManifest(m *repo.Manifest) error {
	if !repo.ValidSnapshotID(m.ID) {
		return fmt.Errorf("snapshot id %q is not one", m.ID)
	}
	for _, n := range []string{m.Host, m.VM} {
		if !validName(n) {
			return fmt.Errorf("snapshot %s: host or VM name %q", m.ID, n)
		}
	}
	seen := map[string]bool{}
	for _, d := range m.Disks {
		if !validName(d.Name) || seen[d.Name] {
			return fmt.Errorf("snapshot %s: disk name %q", m.ID, d.Name)
		}
		seen[d.Name] = true
	}
	if len(m.Disks) == 0 || len(m.Disks) > maxDisks {
		return fmt.Errorf("snapshot %s: %d disks", m.ID, len(m.Disks))
	}
	return nil
}

// maxDisks bounds the disks of a snapshot copied (as a session's).
const maxDisks = 256

// validName is the rule of the API's names: 1 to 128 bytes of UTF-8
// without control characters, "/", "\\" or ":", not "." or "..".
func validName(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == ':' {
			return false
		}
	}
	return true
}
