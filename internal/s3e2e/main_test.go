package s3e2e

import (
	"os"
	"testing"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// shared is the MinIO server of this test binary. Tests that stop or
// restart MinIO start their own with miniotest.Start.
var shared *miniotest.Server

func TestMain(m *testing.M) { os.Exit(miniotest.RunShared(m, &shared)) }
