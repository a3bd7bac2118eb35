// Package agent is shadowvault's client side: the HTTP client of API v1 and
// the backup loop a host agent runs. It opens a session, streams each disk
// while hashing every byte it sends (BLAKE3), completes the session, and
// accepts the result only when the receipt's Ed25519 signature verifies
// against the pinned (or fetched) receipt key and every disk's stream hash
// in the receipt equals what was sent. Only then may VSS be told that the
// backup succeeded.
//
// RemoteDisk reads a snapshot disk in place, without restoring it: an
// io.ReaderAt over HTTP range requests to the raw restore, which the nbd
// package serves to qemu ("instant recovery").
//
// The bodies it sends and decodes are package apiv1's; the agent imports
// nothing of the server (no repo, index or ingest package).
package agent
