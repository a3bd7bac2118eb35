// Package receipt defines shadowvault's completion receipt and how it is
// signed and verified. It is shared by the server, which signs, and the
// agent, which verifies, and depends on the standard library only.
//
// The signature is Ed25519 over the canonical receipt: the receipt without
// its signature field, encoded as JSON with object keys sorted, no
// insignificant whitespace and no HTML escaping. It is hex encoded.
package receipt
