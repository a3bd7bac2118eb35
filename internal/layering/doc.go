// Package layering holds shadowvault's package import rules as data and checks
// the module against them.
//
// Dependencies point downward only (DESIGN.md section 2): chunk, vhd and
// repo/backend at the bottom, importing no project package; the pack, index,
// disk model (diskmap) and receipt packages above chunk; repo above those;
// ingest and restore, the data flows, beside and above repo; api (the server)
// and agent (the client) above them, neither importing the other, sharing the
// wire types of apiv1; and cmd/shadowvault at the top, wiring everything.
// Project in rules.go says this as two tables: Allowed (a package and the only
// project packages it may import) and Forbidden (importers and the project
// packages they must not import). A rule may name a package that does not
// exist yet; it then matches nothing.
//
// Load lists the module's packages with go list for one GOOS, Rules.Check
// finds the imports that break a rule, and Excuse sets aside the known
// violations still being fixed. The test in this package runs all three on
// the module, for linux and windows, from `make lint` and `make test`.
package layering
