// Package index is shadowvault's local accelerator and catalogue, in bbolt.
//
// It maps chunk IDs to their place in a pack, lists packs, and keeps the
// catalogue: snapshots (their manifests as opaque JSON), completed sessions,
// and API tokens. The index never holds the only copy of anything needed to
// restore: packs carry trailers and manifests live in the backend, so a lost
// index is rebuilt from them (repair index). Tokens and policies are
// server-local state.
//
// Every pack's entries are committed in one transaction, after the pack is
// durable in the backend.
package index
