// Package miniotest runs a real MinIO server on 127.0.0.1 for tests, or
// MinIO in distributed mode (Cluster: several processes, one drive each).
//
// The server is the minio binary built once by scripts/ensure-minio.sh (or
// `make test`) into the cache directory
// ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/minio-<commit>/minio. Tests
// never build it and never skip without it: Start fails the test and says
// how to get the binary.
//
// Each Server has its own free port, credentials and temporary data
// directory. Stop kills the process (as a crash would), Restart brings it
// back on the same port with the same data, so fault tests can take the
// storage away in the middle of an upload and give it back.
package miniotest
