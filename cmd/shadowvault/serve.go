package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/local"
)

var serveCmd = command{
	name:    "serve",
	summary: "serve a repository over HTTP (HTTPS with --tls-cert and --tls-key)",
	about: `On first start it creates the repository (a directory, or s3://bucket/prefix
with the --s3-* flags), a receipt signing key and an admin token, written
to admin.token (mode 0600) in the state directory. Logs go to stderr.
`,
}

type serveOpts struct {
	repoPath, state, listen, logLevel, tlsCert, tlsKey string
	lease                                              time.Duration
	spillLimit, memLimit                               int64
}

func serveFlags() (*flag.FlagSet, *serveOpts) {
	fs := serveCmd.flagSet()
	o := &serveOpts{}
	fs.StringVar(&o.repoPath, "repo", "./shadowvault-data", "the repository: a `DIR`, or s3://bucket/prefix")
	fs.StringVar(&o.state, "state", "", "`DIR` for the index and the server's secrets (default: the repository directory; ./shadowvault-state for S3)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:"+defaultPort, "`ADDR` to serve on")
	fs.DurationVar(&o.lease, "session-lease", 15*time.Minute, "how long (`DURATION`) a session may stay idle before it is discarded")
	fs.Int64Var(&o.spillLimit, "spill-limit", 1<<30, "largest temporary spool (`BYTES`) for containers whose metadata follow their payload")
	fs.StringVar(&o.logLevel, "log-level", "info", "`debug|info|warn|error`")
	fs.BoolVar(&precomputeDigests, "precompute-digests", true, "compute each new snapshot disk's block digests in the background (for incremental backups in block-digest mode; else on first request)")
	fs.IntVar(&maxUploads, "max-uploads", api.DefaultMaxUploads, "disk uploads (`N`) in flight server-wide; beyond it a PUT of a disk gets 503 TOO_MANY_UPLOADS (negative: no cap)")
	fs.DurationVar(&headerTimeout, "header-timeout", 15*time.Second, "how long (`DURATION`) a client may take to send its request headers")
	fs.BoolVar(&publicMetrics, "metrics-public", false, "serve /metrics without a token (default: admin token required)")
	fs.DurationVar(&schedule.prune, "prune-interval", 0, "apply the stored retention policies and prune this often (`DURATION`; 0: never)")
	fs.DurationVar(&schedule.check, "check-interval", 0, "check the repository this often (`DURATION`; 0: never)")
	fs.IntVar(&schedule.readData, "check-read-data", 5, "share of packs (`PERCENT`) a scheduled check re-reads")
	fs.StringVar(&jobHistory, "job-history", "30d", "keep finished jobs in the job history this long (`AGE`: 30d, 720h)")
	fs.Int64Var(&o.memLimit, "memory-limit", 1024, "soft memory limit of the server in `MiB`: the garbage collector works harder near it (0: none)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with the certificate in `FILE` (PEM)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the certificate's private key `FILE` (PEM)")
	fs.IntVar(&initPackSize, "init-pack-size", 0, "pack target size in `BYTES` for a new repository (0: 16 MiB); ignored for an existing one")
	fs.BoolVar(&rotateReceiptKey, "rotate-receipt-key", false, "create a new receipt key although the repository holds snapshots signed by a lost one")
	registerSyncScheduleFlags(fs)
	registerS3Flags(fs)
	registerKeyFlags(fs, true)
	registerClusterFlags(fs)
	return fs, o
}

func cmdServe(args []string) int {
	fs, o := serveFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("serve takes no arguments (--repo names the repository)"))
	}
	if initPackSize != 0 && (initPackSize < minInitPackSize || initPackSize > maxInitPackSize) {
		return fail(usageErrorf("serve: --init-pack-size %d: want %d to %d bytes", initPackSize, minInitPackSize, maxInitPackSize))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return fail(usageErrorf("serve: --tls-cert and --tls-key go together"))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fail(usageErrorf("serve: --log-level %q: want debug, info, warn or error", o.logLevel))
	}
	var err error
	if jobHistoryKeep, err = parseAge(jobHistory); err != nil || jobHistoryKeep <= 0 {
		return fail(usageErrorf("serve: --job-history %q: want an age such as 30d or 720h", jobHistory))
	}
	if _, err := lockPolicy(); err != nil {
		return fail(err)
	}
	if lockAsked() && !strings.HasPrefix(o.repoPath, "s3://") {
		return fail(errLocalLock)
	}
	if _, err := clusterOptions(o.repoPath); err != nil {
		return fail(err)
	}
	tlsFiles = [2]string{o.tlsCert, o.tlsKey}
	tuneMemory(o.memLimit)
	log := newLogger(level)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, log, o.repoPath, o.state, o.listen, o.lease, o.spillLimit); err != nil {
		log.Error("serve", "err", err)
		return exitFailure
	}
	return exitOK
}

// jobHistory is --job-history as given, jobHistoryKeep as parsed.
var (
	jobHistory     string
	jobHistoryKeep time.Duration
)

// tlsFiles are the certificate and key files, when serving HTTPS.
var tlsFiles [2]string

// schedule is the maintenance the server runs by itself.
var schedule struct {
	prune, check time.Duration
	readData     int
}

// initPackSize is the pack target size of a repository created by serve
// (0: the default). Tests set it small so that prune has packs to rewrite.
var initPackSize int

// The range --init-pack-size accepts: the repository config's.
const (
	minInitPackSize = repo.MinPackSize
	maxInitPackSize = 256 << 20
)

// publicMetrics serves /metrics to anyone.
var publicMetrics bool

// maxUploads caps the disk uploads in flight (api.Options.MaxUploads).
var maxUploads int

// precomputeDigests is api.Options.PrecomputeDigests.
var precomputeDigests bool

// headerTimeout bounds how long a client may dribble its request headers.
var headerTimeout = 15 * time.Second

func openBackend(ctx context.Context, path string) (backend.Backend, string, error) {
	if strings.HasPrefix(path, "s3://") {
		return openS3(ctx, path)
	}
	if lockAsked() {
		return nil, "", errLocalLock
	}
	be, err := local.Open(path)
	return be, path, err
}

func serve(ctx context.Context, log *slog.Logger, repoPath, state, listen string, lease time.Duration, spillLimit int64) error {
	be, defaultState, err := openBackend(ctx, repoPath)
	if err != nil {
		return err
	}
	if state == "" {
		state = defaultState
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	if _, err := repo.LoadConfig(ctx, be); errors.Is(err, repo.ErrNoRepository) {
		if err := initRepository(ctx, log, be, repoPath, state); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	master, err := masterKey(ctx, be, state)
	if err != nil {
		return err
	}
	if master != nil && insideDir(state, repoPath) {
		log.Warn("the state directory, which holds the master key and the index, is inside the repository directory: "+
			"a copy of the directory is readable without any passphrase; give --state a place of its own (docs/ENCRYPTION.md)", "state", state)
	}
	key, err := receiptKey(ctx, be, filepath.Join(state, "receipt.key"))
	if err != nil {
		return err
	}
	idx, err := index.Open(filepath.Join(state, "index.db"))
	if err != nil {
		return err
	}
	defer idx.Close()
	cl, err := clusterOptions(repoPath)
	if err != nil {
		return err
	}
	r, err := repo.Open(ctx, be, idx, repo.Options{Logger: log, ReceiptKey: key, SessionLease: lease, ParallelUploads: uploadParallelism(repoPath),
		JobHistory: jobHistoryKeep, MasterKey: master, SpillDir: filepath.Join(state, "spill"), Cluster: cl})
	if err != nil {
		return err
	}
	r.Schedule(ctx, schedule.prune, schedule.check, repo.PruneOptions{}, repo.CheckOptions{ReadDataPercent: schedule.readData})
	tokens := api.NewTokens(r) // tokens are kept in the backend too
	if err := ensureAdminToken(log, tokens, filepath.Join(state, "admin.token")); err != nil {
		return err
	}
	apiSrv := api.New(r, tokens, api.Options{Logger: log, SpillDir: filepath.Join(state, "spill"), SpillLimit: spillLimit, PublicMetrics: publicMetrics, MaxUploads: maxUploads, PrecomputeDigests: precomputeDigests})
	if err := scheduleSyncs(ctx, apiSrv); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           apiSrv.Handler(),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsFiles[0] != "" {
		scheme = "https"
	}
	log.Info("serving", "listen", scheme+"://"+ln.Addr().String(), "repo", repoPath, "state", state,
		"dashboard", scheme+"://"+ln.Addr().String()+"/ui/")
	errc := make(chan error, 1)
	go func() {
		if tlsFiles[0] != "" {
			errc <- srv.ServeTLS(ln, tlsFiles[0], tlsFiles[1])
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return r.Close(sctx)
}

// loadOrCreateKey reads the receipt signing key, creating it at first start.
func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if len(data) != ed25519.SeedSize {
			return nil, fmt.Errorf("receipt key %s: %d bytes, want a %d-byte seed", path, len(data), ed25519.SeedSize)
		}
		return ed25519.NewKeyFromSeed(data), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if err := writeSecret(path, seed); err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ensureAdminToken creates the first admin token in path, mode 0600.
func ensureAdminToken(log *slog.Logger, tokens *api.Tokens, path string) error {
	if _, err := os.Stat(path); err == nil {
		log.Info("admin token", "file", path)
		return nil
	}
	_, plain, err := tokens.Create(apiv1.RoleAdmin, "")
	if err != nil {
		return err
	}
	if err := writeSecret(path, []byte(plain+"\n")); err != nil {
		return err
	}
	log.Info("created admin token", "file", path, "mode", "0600")
	return nil
}

// writeSecret writes a file of mode 0600 durably, failing if it exists.
func writeSecret(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tuneMemory keeps the server's footprint small: the heap is mostly
// short-lived chunk and pack buffers, so a tighter GC target costs little.
// GOGC and GOMEMLIMIT in the environment win.
func tuneMemory(limitMiB int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if os.Getenv("GOMEMLIMIT") == "" && limitMiB > 0 {
		debug.SetMemoryLimit(limitMiB << 20)
	}
}
