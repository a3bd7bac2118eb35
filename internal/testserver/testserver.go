// Package testserver starts a complete shadowvault server (repository,
// index, API) inside a test, over a local or in-memory backend.
package testserver

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/restic/chunker"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/local"
)

// Server is a running test server.
type Server struct {
	URL        string
	Repo       *repo.Repository
	Index      *index.Index
	Backend    backend.Backend
	Tokens     *api.Tokens
	AdminToken string
	Key        ed25519.PublicKey
	HTTP       *httptest.Server
	Dir        string
	// MasterKey is the master key of an encrypted repository, else nil.
	MasterKey *crypt.MasterKey

	// What Restart opens the server again with.
	opts Options
	priv ed25519.PrivateKey
	log  *slog.Logger
}

// Options adjust the test server.
type Options struct {
	Backend  backend.Backend // default: a local backend in a temp dir
	PackSize int             // default 4 MiB, so tests make several packs
	Now      func() time.Time
	Lease    time.Duration
	// IdleTimeout cuts off uploads and restores that stall (default 2m).
	IdleTimeout time.Duration
	// SpillLimit bounds the spool of containers whose metadata come last.
	SpillLimit int64
	// LogTo, when set, receives every log line (level Info and up) instead
	// of the test log.
	LogTo io.Writer
	// Encrypted makes an encrypted repository (a passphrase slot with
	// Passphrase, or "test passphrase"); Server.MasterKey opens it.
	Encrypted  bool
	Passphrase string
	// JobHistory is how long finished jobs are kept (default 30 days).
	JobHistory time.Duration
	// SpillPacks keeps the packs being filled in files of Dir/spill, as
	// serve does (repo.Options.SpillDir); else they are in memory.
	SpillPacks bool
}

// Start starts a server; it stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	be := o.Backend
	if be == nil {
		var err error
		if be, err = local.Open(filepath.Join(dir, "repo")); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := repo.NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Chunker = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}
	cfg.PackSize = 4 << 20
	if o.PackSize > 0 {
		cfg.PackSize = o.PackSize
	}
	var master *crypt.MasterKey
	if o.Encrypted {
		m, err := crypt.NewMasterKey()
		if err != nil {
			t.Fatal(err)
		}
		if o.Passphrase == "" {
			o.Passphrase = "test passphrase"
		}
		// Cheap KDF parameters: the real ones are tested in crypt and
		// through the binary.
		slot, err := crypt.NewPassphraseSlot(m, []byte(o.Passphrase), crypt.KDFParams{Name: "argon2id", Time: 1, MemoryKiB: 64, Threads: 1}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := repo.InitEncrypted(ctx, be, cfg, m, slot); err != nil {
			t.Fatal(err)
		}
		master = &m
	} else if err := repo.InitConfig(ctx, be, cfg); err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if os.Getenv("SHADOWVAULT_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.LogTo != nil {
		log = slog.New(slog.NewTextHandler(o.LogTo, nil))
	}
	s := &Server{Index: idx, Backend: be, Key: priv.Public().(ed25519.PublicKey), Dir: dir, opts: o, priv: priv, log: log, MasterKey: master}
	s.serve(t)
	_, admin, err := s.Tokens.Create(apiv1.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	s.AdminToken = admin
	t.Cleanup(func() { s.stop() })
	return s
}

// serve opens the repository on s.Index and serves it.
func (s *Server) serve(t testing.TB) {
	t.Helper()
	o := s.opts
	ro := repo.Options{Logger: s.log, ReceiptKey: s.priv, Now: o.Now,
		SessionLease: o.Lease, JobHistory: o.JobHistory, MasterKey: s.MasterKey}
	if o.SpillPacks {
		ro.SpillDir = filepath.Join(s.Dir, "spill")
	}
	r, err := repo.Open(context.Background(), s.Backend, s.Index, ro)
	if err != nil {
		t.Fatal(err)
	}
	s.Repo, s.Tokens = r, api.NewTokens(r)
	s.HTTP = httptest.NewServer(api.New(r, s.Tokens, api.Options{Logger: s.log, SpillDir: filepath.Join(s.Dir, "spill"),
		IdleTimeout: o.IdleTimeout, SpillLimit: o.SpillLimit, Now: o.Now}).Handler())
	s.URL = s.HTTP.URL
}

func (s *Server) stop() {
	if s.HTTP == nil {
		return
	}
	s.HTTP.Close()
	_ = s.Repo.Close(context.Background())
	_ = s.Index.Close()
	s.HTTP = nil
}

// Restart stops the server and starts it again on the same backend and
// state, at a new URL; with dropIndex the index file is deleted first
// (the admin token then no longer opens it until a repair brings it back).
func (s *Server) Restart(t testing.TB, dropIndex bool) {
	t.Helper()
	s.stop()
	path := filepath.Join(s.Dir, "index.db")
	if dropIndex {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := index.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Index = idx
	s.serve(t)
}

// Client returns an API client with the given token (the admin token if "").
func (s *Server) Client(token string) *agent.Client {
	if token == "" {
		token = s.AdminToken
	}
	return &agent.Client{Server: s.URL, Token: token, HTTP: &http.Client{}}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
