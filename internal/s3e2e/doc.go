// Package s3e2e holds the end-to-end tests and benchmarks of a shadowvault
// server whose repository lives in S3: agent backups over HTTP into a real
// MinIO on 127.0.0.1 (internal/miniotest), restores, `repair index` from
// the bucket alone, MinIO stopped, stalled or refusing in the middle of a
// backup, and the same failure paths on an in-memory backend with injected
// faults (repo/backend/faulty).
//
// The package has no code of its own: everything is in its tests. MinIO is
// the binary scripts/ensure-minio.sh builds; without it the tests fail and
// say how to get it.
//
// Benchmarks: go test -run XXX -bench . ./internal/s3e2e
package s3e2e
