// Package receipt defines shadowvault's completion receipt and how it is
// signed and verified. It is shared by the server, which signs, and the
// agent, which verifies, and depends on the standard library only.
//
// The signature is Ed25519 over the canonical receipt: the receipt without
// its signature field, encoded as JSON with object keys sorted, no
// insignificant whitespace and no HTML escaping. It is hex encoded.
//
// The package also holds what a receipt's settings mean: the backup type
// (full or copy), the consistency (application or crash) and the rule that
// derives truncate_logs from them. The server applies the rule when it
// signs, the agent when it checks; package apiv1 re-exports these types as
// part of the wire contract.
package receipt
