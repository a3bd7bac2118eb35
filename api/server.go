package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/sync/semaphore"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
	"github.com/shadowvault/shadowvault/ui"
)

// Options configure the API server.
type Options struct {
	Logger *slog.Logger
	// SpillDir and SpillLimit bound the temporary file a container whose
	// metadata follow its payload is spooled to.
	SpillDir   string
	SpillLimit int64
	// IdleTimeout cuts off an upload or restore whose client sends or reads
	// nothing for this long (default 2 minutes).
	IdleTimeout time.Duration
	// PublicMetrics serves /metrics without a token (default: admin only).
	PublicMetrics bool
	// MaxUploads caps the disk uploads in flight server-wide; a PUT of a
	// disk beyond it is refused at once with 503 TOO_MANY_UPLOADS and a
	// Retry-After header (default 64; negative: no cap).
	MaxUploads int
	// PrecomputeDigests computes the block digests of every snapshot disk
	// in the background right after its backup (else on first request),
	// so that the next incremental backup in block-digest mode finds them.
	PrecomputeDigests bool
	// UIIdle and UIMax are the lifetimes of a dashboard session: idle
	// and absolute (default ui.IdleTimeout, 12 h, and ui.MaxLifetime,
	// 24 h). Sessions are kept in memory: a restart ends them all.
	UIIdle, UIMax time.Duration
	// Now is the clock schedules are planned with (default time.Now).
	Now func() time.Time
}

// DefaultMaxUploads is Options.MaxUploads when it is 0.
const DefaultMaxUploads = 64

// Server serves API v1 for one repository.
type Server struct {
	repo   *repo.Repository
	tokens *Tokens
	log    *slog.Logger
	opts   Options
	fs     fsCache
	m      *metrics
	// uploads counts disk uploads in flight (see Options.MaxUploads).
	uploads atomic.Int64
	dig     digester
	// maps keeps decoded disk maps across restore requests.
	maps *restore.MapCache
	// ui holds the dashboard's sessions.
	ui *ui.Sessions
	// replReads bounds the replication reads served at once
	// (replication.go); syncs are the sync jobs running (sync.go).
	replReads *semaphore.Weighted
	syncs     syncs
	// pushes are the imports other servers push through (push.go).
	pushes pushes
}

// mapCacheBytes bounds the decoded disk maps kept across requests (a map
// of a 1 TiB disk of average 128 KiB chunks holds about 8M extents... of
// 56 bytes: larger ones are read for each request).
const mapCacheBytes = 64 << 20

// New returns a server.
func New(r *repo.Repository, tokens *Tokens, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SpillDir != "" {
		if err := os.MkdirAll(opts.SpillDir, 0o700); err != nil {
			opts.Logger.Error("spill directory", "dir", opts.SpillDir, "err", err)
		}
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.MaxUploads == 0 {
		opts.MaxUploads = DefaultMaxUploads
	}
	// Records naming a running job (or its session) go to the job's log.
	log := slog.New(r.History().Handler(opts.Logger.Handler()))
	s := &Server{repo: r, tokens: tokens, log: log, opts: opts, maps: restore.NewMapCache(r, mapCacheBytes),
		ui: ui.NewSessions(opts.UIIdle, opts.UIMax, nil), replReads: newReplReads()}
	if opts.Now == nil {
		s.opts.Now = time.Now
	}
	s.m = newMetrics(r, s.uploads.Load)
	s.m.reg.MustRegister(&scheduleCollector{s: s})
	return s
}

func (s *Server) now() time.Time { return s.opts.Now() }

// uploadRetryAfter is the Retry-After (seconds) of a refused upload.
const uploadRetryAfter = "30"

// beginUpload takes an upload slot, or answers 503 TOO_MANY_UPLOADS and
// returns false. The caller calls the returned func when the upload ends.
func (s *Server) beginUpload(w http.ResponseWriter, r *http.Request) (func(), bool) {
	if n := s.uploads.Add(1); s.opts.MaxUploads > 0 && n > int64(s.opts.MaxUploads) {
		s.uploads.Add(-1)
		s.m.uploadsRefused.Inc()
		w.Header().Set("Retry-After", uploadRetryAfter)
		writeError(w, r, errf(http.StatusServiceUnavailable, apiv1.CodeTooManyUploads,
			"too many disk uploads in flight; retry later"))
		return nil, false
	}
	return func() { s.uploads.Add(-1) }, true
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestLog)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, apiv1.Health{Status: "ok"})
	})
	if s.opts.PublicMetrics {
		r.Handle("/metrics", s.m.handler())
	} else {
		r.With(s.authenticate, allow(apiv1.RoleAdmin)).Handle("/metrics", s.m.handler())
	}
	// The API's description needs no token: a static route, which chi
	// matches before the authenticated subrouter below.
	r.Get("/api/v1/openapi.json", openAPIDocument)
	// The dashboard: its static files need no session (the page asks
	// GET /ui/session and shows the login form without one).
	r.Get("/ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
	r.Get("/ui/*", ui.Handler("/ui/").ServeHTTP)
	r.Post("/ui/login", s.uiLogin)
	r.Post("/ui/logout", s.uiLogout)
	r.Get("/ui/session", s.uiSession)
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.authenticate, apiTrigger)
		r.Get("/receipt-key", s.receiptKey)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleAgent)).Post("/sessions", s.createSession)
		r.With(allow(apiv1.RoleAdmin)).Get("/sessions", s.listSessions)
		r.Route("/sessions/{id}", func(r chi.Router) {
			r.Use(allow(apiv1.RoleAdmin, apiv1.RoleAgent))
			r.Put("/disks/{name}", s.putDisk)
			r.Put("/disks/{name}/hints", s.putHints)
			r.Put("/writer-metadata", s.putWriterMetadata)
			r.Post("/complete", s.complete)
			r.Post("/abort", s.abort)
		})
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore, apiv1.RoleAgent)).Get("/snapshots", s.listSnapshots)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore, apiv1.RoleAgent)).Get("/snapshots/{id}", s.getSnapshot)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore, roleLink)).Get("/snapshots/{id}/disks/{name}", s.restoreDisk)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore, roleLink)).Head("/snapshots/{id}/disks/{name}", s.restoreDisk)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Post("/snapshots/{id}/disks/{name}/links", s.createLink)
		r.With(allow(apiv1.RoleAdmin)).Get("/links", s.listLinks)
		r.With(allow(apiv1.RoleAdmin)).Delete("/links/{id}", s.revokeLink)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleAgent, apiv1.RoleRestore)).Get("/snapshots/{id}/disks/{name}/digests", s.getDigests)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/snapshots/{id}/writer-metadata", s.getWriterMetadata)
		r.With(allow(apiv1.RoleAdmin)).Delete("/snapshots/{id}", s.deleteSnapshot)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/snapshots/{id}/disks/{name}/fs", s.fsPartitions)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/snapshots/{id}/disks/{name}/fs/", s.fsPartitions)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/snapshots/{id}/disks/{name}/fs/{index}/ls", s.fsList)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/snapshots/{id}/disks/{name}/fs/{index}/cat", s.fsCat)
		r.With(allow(apiv1.RoleAdmin)).Put("/snapshots/{id}/protected", s.setProtected)
		r.With(allow(apiv1.RoleAdmin)).Get("/policies", s.listPolicies)
		r.With(allow(apiv1.RoleAdmin)).Put("/policies/{name}", s.putPolicy)
		r.With(allow(apiv1.RoleAdmin)).Get("/policies/{name}", s.getPolicy)
		r.With(allow(apiv1.RoleAdmin)).Delete("/policies/{name}", s.deletePolicy)
		r.With(allow(apiv1.RoleAdmin)).Get("/schedules", s.listSchedules)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/schedules/status", s.scheduleStatus)
		r.With(allow(apiv1.RoleAdmin)).Put("/schedules/{name}", s.putSchedule)
		r.With(allow(apiv1.RoleAdmin)).Get("/schedules/{name}", s.getSchedule)
		r.With(allow(apiv1.RoleAdmin)).Delete("/schedules/{name}", s.deleteSchedule)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleAgent)).Get("/plan", s.plan)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleAgent)).Put("/hosts/{host}/inventory", s.putInventory)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/inventory", s.listInventory)
		r.With(allow(apiv1.RoleAdmin)).Post("/forget", s.forget)
		r.With(allow(apiv1.RoleAdmin)).Post("/prune", s.prune)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/jobs", s.jobs)
		r.With(allow(apiv1.RoleAdmin, apiv1.RoleRestore)).Get("/jobs/{id}", s.getJob)
		r.With(allow(apiv1.RoleAdmin)).Get("/stats", s.stats)
		r.With(allow(apiv1.RoleAdmin)).Post("/tokens", s.createToken)
		r.With(allow(apiv1.RoleAdmin)).Get("/tokens", s.listTokens)
		r.With(allow(apiv1.RoleAdmin)).Delete("/tokens/{id}", s.revokeToken)
		r.With(allow(apiv1.RoleAdmin)).Post("/repair/index", s.repairIndex)
		r.With(allow(apiv1.RoleAdmin)).Post("/repair/versions", s.repairVersions)
		r.With(allow(apiv1.RoleAdmin)).Post("/check", s.check)
		r.With(allow(apiv1.RoleAdmin)).Post("/sync", s.startSync)
		r.Route("/replication/push", s.pushRoutes)
		r.Route("/replication", s.replicationRoutes)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no route "+r.Method+" "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errf(http.StatusMethodNotAllowed, apiv1.CodeBadRequest, "method "+r.Method+" not allowed on "+r.URL.Path))
	})
	return r
}

type ctxKey int

const (
	keyLogger ctxKey = iota
	keyToken
)

func logger(r *http.Request) *slog.Logger {
	l, _ := r.Context().Value(keyLogger).(*slog.Logger)
	return l
}

func caller(r *http.Request) Token {
	t, _ := r.Context().Value(keyToken).(Token)
	return t
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestLog gives each request an id and logs one line when it ends.
func (s *Server) requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idb := make([]byte, 6)
		_, _ = rand.Read(idb)
		rid := hex.EncodeToString(idb)
		l := s.log.With("req", rid)
		w.Header().Set("X-Request-Id", rid)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		ctx := context.WithValue(r.Context(), keyLogger, l)
		next.ServeHTTP(sw, r.WithContext(ctx))
		route := ""
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = r.Method + " " + rc.RoutePattern()
		}
		s.m.observe(route, sw.status, time.Since(start))
		l.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"bytes_out", sw.bytes, "bytes_in", r.ContentLength, "took", time.Since(start).Round(time.Microsecond),
			"remote", r.RemoteAddr)
	})
}

// authenticate requires a valid bearer token, a signed link, or the
// dashboard's session cookie (authenticateCookie).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if c, err := r.Cookie(ui.CookieName); h == "" && err == nil && c.Value != "" {
			s.authenticateCookie(w, r, next)
			return
		}
		if sig := r.URL.Query().Get(apiv1.SignatureParam); h == "" && sig != "" {
			s.authenticateLink(w, r, next, sig)
			return
		}
		plain, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || plain == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shadowvault"`)
			writeError(w, r, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "missing bearer token"))
			return
		}
		tok, err := s.tokens.Check(strings.TrimSpace(plain))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shadowvault", error="invalid_token"`)
			writeError(w, r, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "invalid or revoked token"))
			return
		}
		ctx := context.WithValue(r.Context(), keyToken, tok)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// allow restricts a route to the given roles.
func allow(roles ...apiv1.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			role := caller(r).Role
			for _, want := range roles {
				if role == want {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "role "+string(role)+" may not "+r.Method+" "+r.URL.Path))
		})
	}
}

// apiTrigger marks the maintenance a request runs as asked for over the
// API, in the job history.
func apiTrigger(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(repo.WithJobTrigger(r.Context(), repo.TriggerAPI)))
	})
}
