package receipt

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Disk is one disk in a receipt: what the server received and stored of
// it. The answer to a disk upload carries the same fields (and a few more).
type Disk struct {
	Name         string `json:"name"`
	Format       string `json:"format"`
	VirtualSize  int64  `json:"virtual_size"`
	StreamBytes  int64  `json:"stream_bytes"`
	StreamBLAKE3 string `json:"stream_blake3"`
	NewBytes     int64  `json:"new_bytes"`
	StoredBytes  int64  `json:"stored_bytes"`
	// An incremental disk (changes over a base snapshot's disk) names its
	// base, the bytes its parts wrote and its disk map (StreamBLAKE3 is
	// that of the body received). A full upload leaves them empty, so
	// receipts of full uploads are signed over the same fields as ever.
	Base         string `json:"base,omitempty"`
	ChangedBytes int64  `json:"changed_bytes,omitempty"`
	DiskMap      string `json:"disk_map,omitempty"`
}

// Receipt is the body of a successful complete.
type Receipt struct {
	Session      string      `json:"session"`
	Snapshot     string      `json:"snapshot"`
	Host         string      `json:"host"`
	VM           string      `json:"vm"`
	BackupType   BackupType  `json:"backup_type"`
	Consistency  Consistency `json:"consistency"`
	TruncateLogs bool        `json:"truncate_logs"`
	Disks        []Disk      `json:"disks"`
	CommittedAt  time.Time   `json:"committed_at"`
	// ImmutableUntil is set by a server whose storage locks objects (S3
	// Object Lock): until then no credential can delete or change what
	// the snapshot needs. Receipts without it are signed over the same
	// fields as ever.
	ImmutableUntil time.Time `json:"immutable_until,omitzero"`
	Signature      string    `json:"signature,omitempty"`
}

// ErrBadSignature is returned when a receipt does not verify.
var ErrBadSignature = errors.New("receipt signature does not verify")

// Canonical returns the bytes that are signed: r without its signature, as
// JSON with sorted keys, no whitespace and no HTML escaping.
func Canonical(r Receipt) ([]byte, error) {
	r.Signature = ""
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Sign sets r.Signature.
func Sign(r *Receipt, key ed25519.PrivateKey) error {
	msg, err := Canonical(*r)
	if err != nil {
		return fmt.Errorf("sign receipt: %w", err)
	}
	r.Signature = hex.EncodeToString(ed25519.Sign(key, msg))
	return nil
}

// Verify checks r's signature against pub.
func Verify(r Receipt, pub ed25519.PublicKey) error {
	sig, err := hex.DecodeString(r.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: malformed signature", ErrBadSignature)
	}
	msg, err := Canonical(r)
	if err != nil {
		return fmt.Errorf("verify receipt: %w", err)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// ParsePublicKey decodes a hex Ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("receipt key %q: want %d hex-encoded bytes", s, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}
