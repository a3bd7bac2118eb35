package clustere2e

import (
	"bytes"
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
	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
	"github.com/shadowvault/shadowvault/repo/backend/s3"
)

// cluster is a repository in one bucket and the nodes serving it.
type cluster struct {
	tb     testing.TB
	bucket string
	key    ed25519.PrivateKey // every node signs with the same receipt key
	admin  string             // an admin token, valid on every node
	opts   repo.ClusterOptions
	nodes  []*node
	// single starts nodes without cluster options (a baseline: only
	// meaningful with one node).
	single bool
	// master, when set, encrypts the repository.
	master *crypt.MasterKey
	// lock, when enabled, is the S3 Object Lock of every node's backend
	// (set before the first node opens: newClusterLocked).
	lock backend.LockPolicy
}

// node is one shadowvault server of the cluster, wired as serve wires it.
type node struct {
	c     *cluster
	name  string
	dir   string
	raw   *s3.Backend
	be    backend.Backend
	Repo  *repo.Repository
	Index *index.Index
	HTTP  *httptest.Server
}

var buckets atomic.Int64

// newCluster creates a repository (pack size packSize) in a new bucket
// and starts n nodes on it.
func newCluster(tb testing.TB, n, packSize int, o repo.ClusterOptions) *cluster {
	tb.Helper()
	return newClusterOf(tb, n, packSize, o, false, nil)
}

// newClusterOf is newCluster, with single servers when single is set.
func newClusterOf(tb testing.TB, n, packSize int, o repo.ClusterOptions, single bool, master *crypt.MasterKey) *cluster {
	tb.Helper()
	return newClusterLocked(tb, n, packSize, o, single, master, backend.LockPolicy{})
}

// newClusterLocked is newClusterOf on a bucket with S3 Object Lock.
func newClusterLocked(tb testing.TB, n, packSize int, o repo.ClusterOptions, single bool, master *crypt.MasterKey, lock backend.LockPolicy) *cluster {
	tb.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", "=", "-").Replace(tb.Name()))
	c := &cluster{tb: tb, bucket: fmt.Sprintf("c%d-%s", buckets.Add(1), strings.Trim(name[:min(len(name), 40)], "-")), opts: o, single: single, master: master, lock: lock}
	_, c.key, _ = ed25519.GenerateKey(nil)
	raw, be := c.openS3(0, true)
	cfg, err := repo.NewConfig()
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Chunker = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}
	cfg.PackSize = packSize
	if master != nil {
		var slot crypt.Slot
		if slot, err = crypt.NewKeyFileSlot(*master, random(77, 32), "test"); err == nil {
			err = repo.InitEncrypted(context.Background(), be, cfg, *master, slot)
		}
	} else {
		err = repo.InitConfig(context.Background(), be, cfg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	raw.Close()
	for i := range n {
		c.nodes = append(c.nodes, c.start(fmt.Sprintf("n%d", i+1), i))
	}
	tokens := api.NewTokens(c.nodes[0].Repo) // stored in the bucket: every node imports it
	if _, c.admin, err = tokens.Create(apiv1.RoleAdmin, ""); err != nil {
		tb.Fatal(err)
	}
	c.syncAll()
	return c
}

// openS3 opens the bucket through MinIO process i (mod their count), as
// a node of its own would.
func (c *cluster) openS3(i int, create bool) (*s3.Backend, backend.Backend) {
	c.tb.Helper()
	raw, err := s3.Open(context.Background(), s3.Config{
		Endpoint: storage.endpoints[i%len(storage.endpoints)], Bucket: c.bucket, Prefix: "repo",
		AccessKey: storage.access, SecretKey: storage.secret, CreateBucket: create, Lock: c.lock,
	})
	if err != nil {
		c.tb.Fatalf("open s3: %v", err)
	}
	return raw, retry.New(raw, retry.Options{BaseDelay: 50 * time.Millisecond})
}

// start opens a node on the repository and serves it until the test ends.
func (c *cluster) start(name string, i int) *node {
	c.tb.Helper()
	n, err := c.open(name, i, c.tb.TempDir(), c.single)
	if err != nil {
		c.tb.Fatal(err)
	}
	return n
}

// open opens a node on the repository with its state in dir, as a single
// server or a cluster node.
func (c *cluster) open(name string, i int, dir string, single bool) (*node, error) {
	c.tb.Helper()
	n := &node{c: c, name: name, dir: dir}
	n.raw, n.be = c.openS3(i, false)
	if wrapBackend != nil {
		n.be = wrapBackend(name, n.be)
	}
	idx, err := index.Open(filepath.Join(n.dir, "index.db"))
	if err != nil {
		return nil, err
	}
	o := c.opts
	o.Node = name
	log := slog.New(slog.NewTextHandler(testWriter{c.tb, name}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, bench := c.tb.(*testing.B); bench {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ro := repo.Options{Logger: log, ReceiptKey: c.key, Cluster: &o, MasterKey: c.master, SpillDir: filepath.Join(n.dir, "packs"), ParallelUploads: 4}
	if single {
		ro.Cluster = nil
	}
	r, err := repo.Open(context.Background(), n.be, idx, ro)
	if err != nil {
		idx.Close()
		n.raw.Close()
		return nil, err
	}
	h := api.New(r, api.NewTokens(r), api.Options{Logger: log, SpillDir: filepath.Join(n.dir, "spill")}).Handler()
	n.Repo, n.Index, n.HTTP = r, idx, httptest.NewServer(h)
	c.tb.Cleanup(n.stop)
	return n, nil
}

// stop shuts the node down; the bucket stays.
func (n *node) stop() {
	if n.HTTP == nil {
		return
	}
	n.HTTP.Close()
	_ = n.Repo.Close(context.Background())
	_ = n.Index.Close()
	n.raw.Close()
	n.HTTP = nil
}

// syncAll has every node import what the others stored.
func (c *cluster) syncAll() {
	c.tb.Helper()
	for _, n := range c.nodes {
		if err := n.Repo.Refresh(context.Background()); err != nil {
			c.tb.Fatalf("refresh %s: %v", n.name, err)
		}
	}
}

// client is an admin API client of the node.
func (n *node) client() *agent.Client {
	return &agent.Client{Server: n.HTTP.URL, Token: n.c.admin, HTTP: http.DefaultClient}
}

// backup backs up one raw disk of vm through the node.
func (n *node) backup(ctx context.Context, vm string, disk []byte) (*apiv1.Receipt, error) {
	cl := n.client()
	id, err := cl.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: vm, BackupType: "copy", Consistency: "crash"})
	if err != nil {
		return nil, err
	}
	if _, err := cl.PutDisk(ctx, id, "disk0.raw", bytes.NewReader(disk), int64(len(disk)), "raw"); err != nil {
		return nil, err
	}
	rc, err := cl.Complete(ctx, id)
	return &rc, err
}

// restore restores a snapshot's disk through the node.
func (n *node) restore(ctx context.Context, snap string) ([]byte, error) {
	var buf bytes.Buffer
	_, err := n.client().Restore(ctx, snap, "disk0.raw", "original", &buf, nil)
	return buf.Bytes(), err
}

type testWriter struct {
	tb   testing.TB
	node string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(w.node + ": " + strings.TrimSpace(string(p)))
	return len(p), nil
}
