//go:build linux

package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// restoreServer is a `shadowvault serve` that the restore benchmark starts
// and stops: on a local repository, or on a bucket of a MinIO server.
type restoreServer struct {
	*svServer
	minio *miniotest.Server // nil: local
}

// newRestoreServer is a server of a local repository in dir, or with
// minio of a bucket there (its state in dir).
func newRestoreServer(bin, dir string, minio *miniotest.Server) *restoreServer {
	return &restoreServer{svServer: &svServer{bin: bin, dir: dir}, minio: minio}
}

// begin starts the server and waits until it listens.
func (r *restoreServer) begin() error {
	if r.minio == nil {
		return r.start()
	}
	cmd := exec.Command(r.bin, "serve", "--repo", "s3://restorespeed/repo", "--state", filepath.Join(r.dir, "state"),
		"--s3-endpoint", r.minio.URL(), "--s3-create-bucket", "--listen", "127.0.0.1:0", "--log-level", "info")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+r.minio.AccessKey, "AWS_SECRET_ACCESS_KEY="+r.minio.SecretKey)
	return r.launch(cmd)
}

// startMinIO starts a MinIO server for the benchmark, stopped when t ends.
func startMinIO(t *testing.T) *miniotest.Server {
	if _, err := miniotest.Binary(); err != nil {
		t.Fatalf("part s3 needs MinIO: %v", err)
	}
	return miniotest.Start(t)
}
