// Package api is shadowvault's HTTP API v1 (DESIGN.md section 5): chi
// routes, bearer-token authentication with roles, JSON errors with
// machine-readable codes, and the streaming handlers for disk uploads and
// restores.
//
// Data-plane handlers never buffer a body: an uploaded disk goes straight
// into the ingest pipeline, and a restore is streamed from the packs.
// Control-plane handlers decode small, size-capped JSON.
//
// Every body is a type of package apiv1, the wire contract shared with the
// clients; wire.go and wiremaint.go give the repository's records as those
// types, and errors.go maps errors to status and apiv1 code.
package api
