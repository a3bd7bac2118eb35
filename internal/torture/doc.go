// Package torture holds the crash torture test: it runs the real
// shadowvault server binary, SIGKILLs it at random moments while backups,
// forgets, prunes and index repairs run, restarts it on the same
// repository, and after every restart checks the repository's promises
// through the public HTTP API alone.
//
// It is part of `go test ./...` and skipped under -short (the race pass
// of `make test`): the server it kills is a separate, uninstrumented
// binary, so the race detector would add nothing.
//
//	go test -count=1 -v -run Torture ./internal/torture/
//
// 50 kills take about 40-60 s on a 2-core machine. Knobs (environment):
//
//	SHADOWVAULT_TORTURE_KILLS       number of kills (default 50; more for a longer run)
//	SHADOWVAULT_TORTURE_SEED        the seed (default random; always logged)
//	SHADOWVAULT_TORTURE_KEEP_GOING  report each newly broken invariant and go on
//	SHADOWVAULT_TORTURE_OPS         the workers to run (default backup,forget,prune,repair),
//	                                to tell which operation breaks an invariant
//
// The seed fixes the content and every random choice of the workload and
// of the killer; the timing of a kill against the server's work differs
// from run to run, so a replay reproduces the scenario, not the instant.
//
// The server is built once per run (go build ./cmd/shadowvault) into a
// temporary directory that also holds the repository (pack target 4 KiB,
// repo.MinPackSize, through the serve flag --init-pack-size: most chunks
// get a pack of their own) and the server's log. On failure the directory
// is kept, and the last 100 lines of the log are printed.
//
// # Workload
//
// Between two kills, concurrently: three backup workers (a session for
// one of 2 hosts x 3 VMs that no session of the epoch holds, as the
// server allows one session of a VM in flight; any 409 is a wrong
// answer; full, crash or application consistent; one or
// two raw disks of 64 KiB to 3 MiB mixing blocks shared across VMs,
// unique random data, repeated-byte and zero regions, and now and then a
// disk that is one repeated-byte run, or such runs between zero blocks:
// chunks that compress to a few bytes; sometimes a disk uploaded twice,
// sometimes an abort; then complete); a forget worker that acts like
// retention run now and then (once more than 30 snapshots are live it
// forgets down to 10: DELETE of one, or POST /forget keep_last 1-3 for one
// host/VM); a prune worker (grace 1ns and repack_below 0.9, or the
// defaults); and a repair worker (POST /repair/index, usually after
// holding new backups and prunes back so that it is not refused as busy;
// 409 REPOSITORY_BUSY is fine).
// Disks are remembered as specs and regenerated, never kept in memory.
//
// # Kills
//
// After 20-400 ms the killer picks a target (complete, prune or repair
// mostly, sometimes forget, upload or nothing in particular), waits for
// one to be in flight, lets it run for a random part of its usual
// duration (a moving average), and sends SIGKILL. What was in flight is
// counted; a run of 20 kills or more fails unless kills landed during
// completes, prunes, repairs and uploads, and unless enough receipts,
// forgets, prunes that deleted or rewrote packs, and repairs happened.
//
// # Invariants, after every restart
//
//  0. The workload saw sane answers: no 5xx, no refused complete, upload
//     summaries with the size and BLAKE3 sent, no request lost without a
//     kill, and the server never exited by itself.
//  1. Every receipt ever returned names a snapshot that GET /snapshots
//     lists, unless a forget of it answered 2xx or was in flight at a kill
//     (a policy forget in flight covers its whole host/VM). A snapshot
//     forgotten with a 2xx is never listed again. Every listed snapshot
//     belongs to a session the test completed (or whose complete was in
//     flight at a kill).
//  2. Every listed snapshot the test knows (all of them, after every
//     restart: forgets keep 10 to about 30 live) restores byte-identical,
//     format=raw and format=original, with the disks the session uploaded.
//  3. POST /check {"read_data_percent":100} answers ok:true; its
//     problems and damaged disks are printed otherwise.
//  4. Retrying complete of a receipted session returns the same receipt
//     (snapshot, signature, canonical bytes); a 4xx with a JSON error code
//     is accepted only once the snapshot is gone. Forgotten ones are
//     sampled (10 per check). A complete in flight at a kill, retried
//     after every restart, returns a receipt (then 1, 2 and 5 apply to
//     it) or a 4xx with a code; its snapshot must not be listed while
//     complete says 4xx.
//  5. Every receipt verifies against GET /receipt-key (which never
//     changes), names its session, host, VM, type and consistency,
//     truncate_logs only for full+application, and for each disk the
//     size and BLAKE3 that were sent.
package torture
