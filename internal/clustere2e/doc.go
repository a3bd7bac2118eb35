// Package clustere2e tests several shadowvault nodes serving one
// repository in one bucket of a distributed MinIO (four processes, one
// drive each), as docs/SCALE.md describes: cross-node dedup, one
// catalogue, and the maintenance lease. The nodes are in-process servers
// wired as `serve --node` wires them, and, for the node that is killed,
// the real binary.
package clustere2e
