// Package apiv1 is the wire contract of shadowvault's HTTP API v1
// (DESIGN.md section 5): the body of every request a client sends and of
// every answer the server gives, and the error codes. The server (package
// api) encodes and decodes these types; the clients (package agent and the
// client verbs of cmd/shadowvault) use the same ones. A wire type is
// declared here once and nowhere else.
//
// Of the project, the package depends on package receipt and on the disk
// model (diskmap, and chunk below it) only, so that an agent that imports
// it pulls in nothing of the repository. The receipt, its disks and the
// backup settings it signs (BackupType, Consistency) belong to package
// receipt, which interprets them; ranges, containers, guest hint records
// and disk formats belong to diskmap. apiv1 names them again as aliases,
// not as new types.
//
// The server's own records (a snapshot manifest, a retention policy, a job
// status) stay in the packages that store them; package api turns them
// into these types. What goes on the wire does not change with them: the
// JSON of every answer is fixed by the field names, their order and their
// omitempty here, and the server encodes it indented by two spaces.
//
// Names: a request body is XRequest, an answer is named for what it holds
// (Session, DiskSummary, Receipt, SnapshotList). Settings with a fixed set
// of values are string types whose value is the wire form (BackupType,
// Consistency, Role, Code): a body decodes whatever a peer sent, and the
// receiver checks it with Valid or a Parse function at its edge.
package apiv1
