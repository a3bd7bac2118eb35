package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

// The offline form of sync: both repositories opened here, their servers
// stopped (each index is locked by its server). Each master key comes
// from the repository's state directory (the key serve cached there), or
// for the target from the passphrase flags.

// openOffline opens the repository at path with its index in state
// (default: as serve chooses it).
func openOffline(ctx context.Context, log *slog.Logger, path, state string) (*repo.Repository, func(), error) {
	be, defaultState, err := openBackend(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	if state == "" {
		state = defaultState
	}
	if _, err := repo.LoadConfig(ctx, be); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	master, err := masterKey(ctx, be, state)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	idxPath := filepath.Join(state, "index.db")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, nil, err
	}
	idx, err := index.Open(idxPath)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, nil, fmt.Errorf("the index %s is locked by its server: stop it first, or run the sync through it (--server)", idxPath)
	}
	if err != nil {
		return nil, nil, err
	}
	key, err := receiptKeyForRepair(filepath.Join(state, "receipt.key"))
	if err != nil {
		idx.Close()
		return nil, nil, err
	}
	r, err := repo.Open(ctx, be, idx, repo.Options{Logger: log, ReceiptKey: key, MasterKey: master})
	if err != nil {
		idx.Close()
		return nil, nil, err
	}
	return r, func() {
		_ = r.Close(context.WithoutCancel(ctx))
		_ = idx.Close()
	}, nil
}

// syncOffline copies from the repository --from-repo into --repo.
func (o *syncOpts) syncOffline() int {
	req, err := o.options()
	if err != nil {
		return fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	log := slog.Default()
	src, closeSrc, err := openOffline(ctx, log, o.fromRepo, o.fromState)
	if err != nil {
		return fail(err)
	}
	defer closeSrc()
	dst, closeDst, err := openOffline(ctx, log, o.repo, o.state)
	if err != nil {
		return fail(err)
	}
	defer closeDst()
	job := dst.BeginSyncJob(repo.TriggerManual, "")
	req.Logger = job.Logger()
	st, err := replicate.Run(ctx, replicate.LocalSource{R: src}, replicate.Local{R: dst}, req, replicate.NewLimiter(o.rate))
	rec := repo.SyncStats{Source: st.Source, Snapshots: st.Snapshots, SnapshotsSkipped: st.SnapshotsSkipped,
		ChunksSent: st.ChunksSent, ChunksSkipped: st.ChunksSkipped, BytesSent: st.BytesSent, BytesStored: st.BytesStored,
		DisksVerified: st.DisksVerified}
	result := repo.JobSuccess
	if err != nil {
		result = repo.JobFailed
	}
	job.End(result, err, func(jr *repo.JobRecord) { jr.Sync, jr.Bytes, jr.NewBytes = &rec, rec.BytesSent, rec.BytesStored })
	if err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(syncStatsToWire(rec))
	}
	printSyncStats(rec)
	return exitOK
}
