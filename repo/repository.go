package repo

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// Options tune an open repository.
type Options struct {
	Logger *slog.Logger
	// ReceiptKey signs completion receipts.
	ReceiptKey ed25519.PrivateKey
	// SessionLease is how long a session may stay idle (default 15 minutes).
	SessionLease time.Duration
	// ParallelUploads bounds pack uploads in flight (default 2).
	ParallelUploads int
	// RestoreParallel is how many chunk reads a restore keeps in flight
	// ahead of its output (default 8).
	RestoreParallel int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MasterKey opens an encrypted repository (Unlock); unused for a
	// plain one.
	MasterKey *crypt.MasterKey
	// JobHistory is how long finished jobs are kept in the job history
	// (default DefaultJobHistory).
	JobHistory time.Duration
	// SpillDir, if set, is a directory for the packs being filled and
	// uploaded, which then take page cache instead of memory (spill.go).
	SpillDir string
	// Cluster makes the repository one node of several serving the same
	// bucket (cluster.go); nil for a single server.
	Cluster *ClusterOptions
}

// Repository is an open repository: a backend, its config and the index.
type Repository struct {
	be     backend.Backend // sealed.Backend in an encrypted repository
	codec  pack.Codec      // how chunks and pack trailers are stored
	idx    *index.Index
	cfg    Config
	log    *slog.Logger
	key    ed25519.PrivateKey
	lease  time.Duration
	now    func() time.Time
	packer *packer
	// restoreParallel is Options.RestoreParallel.
	restoreParallel int

	mu         sync.Mutex
	sessions   map[string]*Session     // guarded by mu
	tombstones map[string]sessionState // ended sessions, guarded by mu
	imports    map[*Import]struct{}    // syncs storing a snapshot, guarded by mu
	importing  map[string]bool         // snapshot ids an import commits, guarded by mu

	maintMu sync.Mutex // one prune or check at a time
	// catMu is held shared by each forget, from its decision to the
	// removal of its manifest, and exclusively by a rebuild while it
	// settles which manifests to list, so that a rebuild never lists a
	// snapshot forgotten while it read the backend.
	catMu sync.RWMutex
	jobs  *Jobs
	// history is the job history (history.go).
	history *History
	// lastSweep is when the janitor last swept the job history; only
	// the janitor uses it.
	lastSweep time.Time
	// views is the per-host accounting of new bytes (hostview.go).
	views *hostViews
	// maps guards disk map objects between their store and their
	// manifest against a prune deleting them (orphans.go).
	maps mapGuard
	// cl is this node's part in a cluster; nil for a single server.
	cl *cluster

	stop    chan struct{}
	stopped sync.WaitGroup
}

// Open opens the repository in be with the index idx. The config must exist
// (see InitConfig).
func Open(ctx context.Context, be backend.Backend, idx *index.Index, opts Options) (*Repository, error) {
	cfg, err := LoadConfig(ctx, be)
	if err != nil {
		return nil, err
	}
	cfg, be, codec, err := encryptedAccess(cfg, be, opts.MasterKey)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionLease <= 0 {
		opts.SessionLease = 15 * time.Minute
	}
	if opts.ParallelUploads <= 0 {
		opts.ParallelUploads = 2
	}
	if opts.RestoreParallel <= 0 {
		opts.RestoreParallel = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.ReceiptKey) != ed25519.PrivateKeySize {
		return nil, errors.New("open repository: no receipt key")
	}
	if opts.SpillDir != "" {
		if err := cleanSpill(opts.SpillDir); err != nil {
			return nil, err
		}
	}
	history := newHistory(idx, be, opts.Logger, opts.Now, opts.JobHistory)
	// Records naming a running job (or its session) go to the job's log.
	opts.Logger = slog.New(history.Handler(opts.Logger.Handler()))
	r := &Repository{
		be: be, codec: codec, idx: idx, cfg: cfg, log: opts.Logger, key: opts.ReceiptKey, history: history,
		lease: opts.SessionLease, now: opts.Now, restoreParallel: opts.RestoreParallel,
		packer:   newPacker(be, codec, idx, cfg.PackSize, opts.ParallelUploads, opts.Logger, opts.Now, opts.SpillDir),
		sessions: make(map[string]*Session), tombstones: make(map[string]sessionState),
		stop: make(chan struct{}),
		jobs: newJobs(),
	}
	r.views = newHostViews(r)
	if opts.Cluster != nil {
		if err := r.joinCluster(ctx, *opts.Cluster); err != nil {
			return nil, err
		}
	} else if err := refuseClustered(ctx, be); err != nil {
		return nil, err
	}
	// A crash may have interrupted a forget or a complete: make the
	// catalogue and the backend agree before the first session. A storage
	// error here does not stop the server; check reports what is left.
	if _, err := r.Reconcile(ctx); err != nil {
		r.log.Error("reconcile catalogue with the backend", "err", err)
	}
	r.openHistory()
	r.stopped.Add(1)
	go r.janitor()
	if r.cl != nil {
		r.stopped.Add(1)
		go r.cl.run()
	}
	return r, nil
}

// IDs is how chunk IDs are computed in this repository.
func (r *Repository) IDs() chunk.Hasher { return r.codec.IDs }

// Config returns the repository's config.
func (r *Repository) Config() Config { return r.cfg }

// Counts returns the indexed chunks and packs, and the packs' bytes.
func (r *Repository) Counts() (chunks, packs int, packBytes int64, err error) {
	return r.idx.Counts()
}

// PublicKey is the receipt key's public half.
func (r *Repository) PublicKey() ed25519.PublicKey { return r.key.Public().(ed25519.PublicKey) }

// Close aborts open sessions, flushes the open pack and waits for uploads.
func (r *Repository) Close(ctx context.Context) error {
	close(r.stop)
	r.stopped.Wait()
	r.mu.Lock()
	open := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		open = append(open, s)
	}
	r.mu.Unlock()
	for _, s := range open {
		s.discard("server shutting down")
	}
	err := r.packer.close(ctx)
	r.history.close()
	if err != nil {
		return fmt.Errorf("close repository: %w", err)
	}
	return nil
}

// janitor expires idle sessions.
func (r *Repository) janitor() {
	defer r.stopped.Done()
	tick := time.NewTicker(min(r.lease/4, 10*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.ExpireSessions()
			r.sweepHistory()
		}
	}
}

// ExpireSessions discards every session, open or failed, idle for longer
// than the lease (no upload in flight, not completing).
func (r *Repository) ExpireSessions() int {
	now := r.now()
	r.mu.Lock()
	var expired []*Session
	for _, s := range r.sessions {
		if s.idleSince(now) > r.lease {
			expired = append(expired, s)
		}
	}
	r.mu.Unlock()
	n := 0
	for _, s := range expired {
		if s.expire(now, r.lease) {
			n++
		}
	}
	return n
}

// historySweepEvery is how often the janitor sweeps the job history.
const historySweepEvery = time.Hour

// openHistory ends the jobs a stopped server left running, reads each
// VM's last backup results from the history and the catalogue, and starts
// the history's writer. Job bookkeeping never stops a server: failures are
// logged.
func (r *Repository) openHistory() {
	if err := r.history.open(); err != nil {
		r.log.Error("job history", "err", err)
	}
	if snaps, err := r.Snapshots(Filter{}); err != nil {
		r.log.Error("job history: read the catalogue for the VMs' last backups", "err", err)
	} else {
		for _, m := range snaps {
			r.history.noteSnapshot(m)
		}
	}
	go r.history.run()
}

// sweepHistory removes old jobs, once every historySweepEvery.
func (r *Repository) sweepHistory() {
	now := r.now()
	if !r.lastSweep.IsZero() && now.Sub(r.lastSweep) < historySweepEvery {
		return
	}
	r.lastSweep = now
	ctx, cancel := context.WithTimeout(context.Background(), settingsTimeout)
	defer cancel()
	if _, err := r.history.Sweep(ctx); err != nil {
		r.log.Error("job history", "err", err)
	}
}
