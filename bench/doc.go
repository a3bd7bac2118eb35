// Package bench holds shadowvault's end-to-end benchmarks: ingest over
// loopback HTTP, server memory, and the comparison table on a multi-VM
// corpus, side by side in one run with restic 0.18.1 (built into the cache
// by scripts/ensure-restic.sh), restic 0.14 and borg (Debian packages):
// first backups, unchanged and changed re-backups (also as incremental
// backups, from block digests and from changed ranges) and restores; and
// a 30-day chain of incremental backups (restore speed of the last, what
// forgetting the others frees). Run them with `make bench`; the tables go
// to bench/results/.
package bench
