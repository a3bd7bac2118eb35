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
	r, err := repo.Open(ctx, be, idx, repo.Options{Logger: log, ReceiptKey: priv, Now: o.Now, SessionLease: o.Lease, MasterKey: master})
	if err != nil {
		t.Fatal(err)
	}
	tokens := api.NewTokens(r)
	_, admin, err := tokens.Create(apiv1.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(r, tokens, api.Options{Logger: log, SpillDir: filepath.Join(dir, "spill"), IdleTimeout: o.IdleTimeout, SpillLimit: o.SpillLimit, Now: o.Now}).Handler())
	s := &Server{URL: hs.URL, Repo: r, Index: idx, Backend: be, Tokens: tokens, AdminToken: admin,
		Key: priv.Public().(ed25519.PublicKey), HTTP: hs, Dir: dir, MasterKey: master}
	t.Cleanup(func() {
		hs.Close()
		_ = r.Close(context.Background())
		_ = idx.Close()
	})
	return s
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
