package clustere2e

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// storage is the S3 engine every test of the binary shares: a distributed
// MinIO when it starts, else one MinIO process (said on stderr).
var storage struct {
	endpoints  []string
	access     string
	secret     string
	distribute bool
	cluster    *miniotest.Cluster // when distributed
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

// run starts the storage (one process under -short) and runs the tests.
func run(m *testing.M) int {
	err := errors.New("-short")
	var c *miniotest.Cluster
	if !testing.Short() {
		c, err = miniotest.NewCluster(4)
	}
	if err == nil {
		defer c.Close()
		storage.endpoints, storage.access, storage.secret, storage.distribute = c.Endpoints[:3], c.AccessKey, c.SecretKey, true
		storage.cluster = c // nodes use the first three processes; tests may kill the fourth
		return m.Run()
	}
	fmt.Fprintf(os.Stderr, "clustere2e: distributed MinIO did not start (%v); the tests run on one MinIO process\n", err)
	s, err := miniotest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	storage.endpoints, storage.access, storage.secret = []string{s.Endpoint}, s.AccessKey, s.SecretKey
	return m.Run()
}
