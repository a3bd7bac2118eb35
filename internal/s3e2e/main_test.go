package s3e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// shared is the MinIO server of this test binary. Tests that stop or
// restart MinIO start their own with miniotest.Start.
var shared *miniotest.Server

func TestMain(m *testing.M) {
	var err error
	shared, err = miniotest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	shared.Close()
	os.Exit(code)
}
