// Package bench holds shadowvault's end-to-end benchmarks: ingest over
// loopback HTTP, server memory, and (with restic and borg installed) the
// comparison table on a multi-VM corpus. Run them with `make bench`.
package bench
