package s3

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// shared is the MinIO server of this test binary. Tests that stop or
// restart a server start their own with miniotest.Start.
var shared *miniotest.Server

func TestMain(m *testing.M) { os.Exit(miniotest.RunShared(m, &shared)) }

var buckets atomic.Int64

// newBucket returns a bucket name no test has used yet.
func newBucket(t *testing.T) string {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d-%s", buckets.Add(1), strings.Trim(name, "-"))
}

// serverConfig is a config for srv with a fresh bucket that Open creates.
func serverConfig(t *testing.T, srv *miniotest.Server) Config {
	return Config{
		Endpoint:     srv.Endpoint,
		Bucket:       newBucket(t),
		Prefix:       "repo",
		AccessKey:    srv.AccessKey,
		SecretKey:    srv.SecretKey,
		CreateBucket: true,
	}
}

// open opens cfg and closes the backend when t ends.
func open(t *testing.T, cfg Config) *Backend {
	t.Helper()
	b, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
