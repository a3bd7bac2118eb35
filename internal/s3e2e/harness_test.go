package s3e2e

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restic/chunker"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/internal/miniotest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/local"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
	"github.com/shadowvault/shadowvault/repo/backend/s3"
)

// server is a shadowvault server as `serve` wires it (repository, bbolt
// index, API), over any backend, that a test can stop and start again on
// the same state directory, with or without its index.
type server struct {
	tb    testing.TB
	be    backend.Backend
	dir   string // state: index.db
	key   ed25519.PrivateKey
	opts  repo.Options
	admin string // the admin token

	Repo  *repo.Repository
	Index *index.Index
	HTTP  *httptest.Server
	tr    *http.Transport // the clients'
}

// setup says how to create a server.
type setup struct {
	PackSize int          // default 4 MiB, so tests make several packs
	Options  repo.Options // ParallelUploads, RestoreParallel
}

// startServer creates a repository in be and serves it until tb ends.
func startServer(tb testing.TB, be backend.Backend, o setup) *server {
	tb.Helper()
	cfg, err := repo.NewConfig()
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Chunker = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}
	cfg.PackSize = 4 << 20
	if o.PackSize > 0 {
		cfg.PackSize = o.PackSize
	}
	if err := repo.InitConfig(context.Background(), be, cfg); err != nil {
		tb.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	s := &server{tb: tb, be: be, dir: tb.TempDir(), key: key, opts: o.Options, tr: &http.Transport{MaxIdleConnsPerHost: 16}}
	s.opts.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, bench := tb.(*testing.B); bench {
		s.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.opts.ReceiptKey = key
	s.start()
	tb.Cleanup(s.stop)
	return s
}

// start opens the index (creating it if missing) and the repository, and
// serves them. An index without tokens gets a new admin token.
func (s *server) start() {
	s.tb.Helper()
	idx, err := index.Open(filepath.Join(s.dir, "index.db"))
	if err != nil {
		s.tb.Fatal(err)
	}
	r, err := repo.Open(context.Background(), s.be, idx, s.opts)
	if err != nil {
		s.tb.Fatal(err)
	}
	tokens := api.NewTokens(idx)
	if list, err := tokens.List(); err != nil {
		s.tb.Fatal(err)
	} else if len(list) == 0 {
		if _, s.admin, err = tokens.Create(apiv1.RoleAdmin, ""); err != nil {
			s.tb.Fatal(err)
		}
	}
	h := api.New(r, tokens, api.Options{Logger: s.opts.Logger, SpillDir: filepath.Join(s.dir, "spill")}).Handler()
	s.Repo, s.Index, s.HTTP = r, idx, httptest.NewServer(h)
}

// stop shuts the server down; the backend and the state directory stay.
func (s *server) stop() {
	if s.HTTP == nil {
		return
	}
	s.HTTP.Close()
	_ = s.Repo.Close(context.Background())
	_ = s.Index.Close()
	s.tr.CloseIdleConnections()
	s.HTTP, s.Repo, s.Index = nil, nil, nil
}

// client returns an API client with the admin token.
func (s *server) client() *agent.Client {
	return &agent.Client{Server: s.HTTP.URL, Token: s.admin, HTTP: &http.Client{Transport: s.tr}}
}

// receiptKey is the server's public receipt key in hex.
func (s *server) receiptKey() string {
	return fmt.Sprintf("%x", []byte(s.key.Public().(ed25519.PublicKey)))
}

var buckets atomic.Int64

// newS3 opens a fresh bucket on srv through endpoint (srv's own, or a proxy
// in front of it) and returns the s3 backend and the same backend wrapped
// for retries, as `serve` wraps it. The backend is closed when tb ends.
func newS3(tb testing.TB, srv *miniotest.Server, endpoint string) (*s3.Backend, backend.Backend) {
	tb.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(tb.Name()))
	bucket := fmt.Sprintf("e%d-%s", buckets.Add(1), strings.Trim(name[:min(len(name), 40)], "-"))
	b, err := s3.Open(context.Background(), s3.Config{
		Endpoint: endpoint, Bucket: bucket, Prefix: "repo",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, CreateBucket: true,
	})
	if err != nil {
		tb.Fatalf("open s3: %v", err)
	}
	tb.Cleanup(func() { b.Close() })
	return b, retry.New(b, retry.Options{BaseDelay: 50 * time.Millisecond})
}

// newLocal returns a local backend in a temporary directory.
func newLocal(tb testing.TB) backend.Backend {
	tb.Helper()
	be, err := local.Open(filepath.Join(tb.TempDir(), "repo"))
	if err != nil {
		tb.Fatal(err)
	}
	return be
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
