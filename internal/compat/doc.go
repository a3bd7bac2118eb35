// Package compat holds shadowvault's format-compatibility test: a small
// repository and state directory written by an earlier version, which
// today's binary must still open, list, check, rebuild and restore
// identically. It is a test only; the package has no API.
//
// testdata/v1 holds what the generator left: repo/ (the local repository:
// config, packs, disk maps, manifests, tokens, policies, protection
// marks, writer metadata), state/ (index.db, the receipt key and the first
// admin token) and expect.json (the snapshot IDs, the manifests, listings,
// policies, tokens and stats as the server answered, the receipts as
// returned, and the size and SHA-256 of every restore of every disk in the
// formats original, raw, vhd and vhdx). A vhd or vhdx restore is a new
// container with fresh identifiers and a time stamp, so those fields are
// zeroed before hashing (mask_test.go); everything else is compared byte
// for byte.
//
// TestCompat starts the real binary (built from cmd/shadowvault) on a copy
// of testdata, with an admin token made offline by `token create --state`,
// and uses only the command line and the HTTP API of DESIGN.md sections 5
// and 6, never Go APIs of the server packages. It checks the data twice:
// as committed, and after deleting index.db and running `repair index`.
// An answer may gain fields; it may not lose or change one.
//
// # Regenerating
//
// The data is regenerated only together with a format version bump (of the
// repository config, pack, disk map, manifest or index schema) and a
// migration that opens the old data: then keep the old directory, add the
// new one as testdata/v2 and test both. Never regenerate to make this test
// pass: a failure here means that a repository written by an earlier
// version no longer opens or restores the same. To regenerate, with
// qemu-img installed:
//
//	SHADOWVAULT_COMPAT_GENERATE=1 go test -count=1 -run '^TestGenerate$' ./internal/compat/
//
// TestGenerate builds four disks (a dynamic VHD and a dynamic VHDX made by
// qemu-img, a differencing VHDX child of that VHDX made by vhdtest, and a
// raw disk of an odd size), backs them up through the HTTP API into a new
// repository (one session, full and application-consistent, with writer
// metadata), backs up two of them again, one changed, with the backup
// agent and an agent token, sets a policy and protects the first snapshot.
// It checks every restore against its source, then stops the server and
// replaces testdata/v1; run TestCompat after it. Disk content is seeded
// and the same each time; IDs, keys, tokens and times are new. Commit the
// code first: expect.json records the commit it was generated from.
package compat
