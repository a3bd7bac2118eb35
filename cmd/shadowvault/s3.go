package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
	"github.com/shadowvault/shadowvault/repo/backend/s3"
)

// defaultS3State is the state directory of an S3 repository when --state
// is not given: the index and the secrets stay local.
const defaultS3State = "./shadowvault-state"

// s3ParallelUploads is how many packs go up at once to S3, where each
// upload waits on the network more than on the disk.
const s3ParallelUploads = 4

// s3OpenTimeout bounds the first request to the server (the bucket check).
const s3OpenTimeout = 30 * time.Second

// s3Flags holds the --s3-* flags of the commands that open a repository.
var s3Flags struct {
	endpoint, region     string
	accessKey, secretKey string
	tls, insecure        bool
	createBucket         bool
	maxConns             int
	// objectLock is --object-lock as given (an age; empty: no lock).
	objectLock, lockMode string
	lockSlack            time.Duration
}

// registerS3Flags adds the --s3-* flags to fs. Empty flags fall back to the
// usual environment variables (see s3.ConfigFromEnv).
func registerS3Flags(fs *flag.FlagSet) {
	f := &s3Flags
	fs.StringVar(&f.endpoint, "s3-endpoint", "", "S3 `ENDPOINT`, host:port or http(s)://host:port (AWS_ENDPOINT_URL, S3_ENDPOINT; default AWS)")
	fs.StringVar(&f.region, "s3-region", "", "S3 `REGION` (AWS_REGION, AWS_DEFAULT_REGION)")
	fs.StringVar(&f.accessKey, "s3-access-key", "", "S3 access `KEY` id (AWS_ACCESS_KEY_ID, MINIO_ACCESS_KEY)")
	fs.StringVar(&f.secretKey, "s3-secret-key", "", "S3 `SECRET` key, or @FILE to read it from a file; prefer AWS_SECRET_ACCESS_KEY, a flag shows in the process list")
	fs.BoolVar(&f.tls, "s3-tls", true, "use HTTPS for an endpoint given as host:port (a URL's scheme decides otherwise)")
	fs.BoolVar(&f.insecure, "s3-insecure", false, "accept any TLS certificate (testing only)")
	fs.BoolVar(&f.createBucket, "s3-create-bucket", false, "create the bucket if it does not exist")
	fs.IntVar(&f.maxConns, "s3-max-conns", s3.DefaultMaxConns, "most connections (`N`) open to the S3 server")
	fs.StringVar(&f.objectLock, "object-lock", "", "S3 Object Lock: every snapshot is immutable for this `AGE` (30d, 720h) after its commit; the bucket must have Object Lock (one --s3-create-bucket makes is)")
	fs.StringVar(&f.lockMode, "object-lock-mode", "compliance", "`compliance` (nobody can delete a locked object early) or governance (a user with the bypass permission can)")
	fs.DurationVar(&f.lockSlack, "object-lock-slack", 24*time.Hour, "added to every retention date, so that a reused pack's lock is extended at most once per `DURATION`")
}

// errLocalLock refuses --object-lock for a local repository.
var errLocalLock = usageErrorf("--object-lock needs an S3 repository (s3://bucket/prefix); a local directory cannot lock its files")

// lockAsked reports whether --object-lock asks for a lock.
func lockAsked() bool { return s3Flags.objectLock != "" && s3Flags.objectLock != "off" }

// lockPolicy reads the --object-lock flags.
func lockPolicy() (backend.LockPolicy, error) {
	f := s3Flags
	if !lockAsked() {
		return backend.LockPolicy{}, nil
	}
	period, err := parseAge(f.objectLock)
	if err != nil || period <= 0 {
		return backend.LockPolicy{}, usageErrorf("--object-lock %q: want an age such as 30d or 720h", f.objectLock)
	}
	mode, err := backend.ParseLockMode(f.lockMode)
	if err != nil {
		return backend.LockPolicy{}, usageErrorf("--object-lock-mode: %v", err)
	}
	if f.lockSlack < 0 {
		return backend.LockPolicy{}, usageErrorf("--object-lock-slack must not be negative")
	}
	return backend.LockPolicy{Mode: mode, Period: period, Slack: f.lockSlack}, nil
}

// uploadParallelism is repo.Options.ParallelUploads for the repository at
// path: 0 (the default) for a local one.
func uploadParallelism(path string) int {
	if strings.HasPrefix(path, "s3://") {
		return s3ParallelUploads
	}
	return 0
}

// s3Config builds the backend config of url from the flags and the
// environment.
func s3Config(url string) (s3.Config, error) {
	cfg, err := s3.ParseURL(url)
	if err != nil {
		return cfg, err
	}
	f := s3Flags
	cfg.Endpoint, cfg.Region, cfg.AccessKey = f.endpoint, f.region, f.accessKey
	cfg.SecretKey = f.secretKey
	if path, ok := strings.CutPrefix(f.secretKey, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("s3 secret key: %w", err)
		}
		cfg.SecretKey = strings.TrimSpace(string(b))
	}
	cfg.UseTLS, cfg.InsecureSkipVerify = f.tls, f.insecure
	cfg.CreateBucket, cfg.MaxConns = f.createBucket, f.maxConns
	if cfg.Lock, err = lockPolicy(); err != nil {
		return cfg, err
	}
	cfg = s3.ConfigFromEnv(cfg)
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return cfg, fmt.Errorf("s3 repository %s: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or --s3-access-key and --s3-secret-key)", url)
	}
	return cfg, nil
}

// openS3 opens the S3 repository at url (s3://bucket/prefix), wrapped so
// that transient failures are retried. It returns the backend and the
// default state directory.
func openS3(ctx context.Context, url string) (backend.Backend, string, error) {
	cfg, err := s3Config(url)
	if err != nil {
		return nil, "", err
	}
	octx, cancel := context.WithTimeout(ctx, s3OpenTimeout)
	defer cancel()
	be, err := s3.Open(octx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", url, err)
	}
	slog.Info("s3 repository", "where", be.String(), "max_conns", cfg.MaxConns)
	if cfg.Lock.Enabled() {
		slog.Info("object lock", "mode", cfg.Lock.Mode, "period", cfg.Lock.Period, "slack", cfg.Lock.Slack)
	} else if on, err := be.BucketLocks(octx); err == nil && on {
		slog.Warn("the bucket has Object Lock but --object-lock is not given: new snapshots are not immutable")
	}
	return retry.New(be, retry.Options{Notify: logRetry}), defaultS3State, nil
}

// logRetry logs a storage call that is about to be retried.
func logRetry(op string, what any, attempt int, err error, wait time.Duration) {
	slog.Warn("storage call failed, retrying", "op", op, "object", fmt.Sprint(what), "attempt", attempt,
		"in", wait.Round(time.Millisecond), "err", err)
}
