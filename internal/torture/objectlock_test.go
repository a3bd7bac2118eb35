package torture

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// TestTortureObjectLock runs the torture workload on the repository an
// operator who fears ransomware runs: encrypted (the default), in a real
// MinIO bucket with Object Lock, every snapshot immutable for 20 s after
// its commit. Locks run out while the run goes on, so prunes both meet
// locked packs (hidden, kept) and purge unlocked ones. The invariants are
// those of TestTorture.
func TestTortureObjectLock(t *testing.T) {
	if testing.Short() {
		t.Skip("torture test: kills a real server many times; skipped with -short")
	}
	kills := int(envInt(t, "SHADOWVAULT_TORTURE_LOCK_KILLS", 25))
	minio := miniotest.Start(t)
	torture(t, kills, "TestTortureObjectLock", 20*time.Second, func(dir string) *server {
		return &server{
			repoDir:  "s3://torture-locked/repo",
			stateDir: filepath.Join(dir, "state"),
			args: []string{"--s3-endpoint", "http://" + minio.Endpoint, "--s3-create-bucket",
				"--object-lock", "20s", "--object-lock-slack", "0s"},
			env: []string{"AWS_ACCESS_KEY_ID=" + minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + minio.SecretKey},
		}
	})
}
