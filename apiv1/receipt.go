package apiv1

import "github.com/shadowvault/shadowvault/receipt"

// Receipt is the body of a successful complete: POST
// /api/v1/sessions/{id}/complete. It is signed over its canonical JSON;
// package receipt signs and verifies it.
type Receipt = receipt.Receipt

// Disk is one disk of a receipt: name, format, virtual size, the bytes and
// BLAKE3 of the stream the server received, and the bytes it stored.
type Disk = receipt.Disk

// BackupType is a session's backup type: full or copy.
type BackupType = receipt.BackupType

// Consistency is a session's consistency: application or crash.
type Consistency = receipt.Consistency

// Backup types and consistencies.
const (
	BackupFull             = receipt.BackupFull
	BackupCopy             = receipt.BackupCopy
	ConsistencyApplication = receipt.ConsistencyApplication
	ConsistencyCrash       = receipt.ConsistencyCrash
)

// ReceiptKey is the answer to GET /api/v1/receipt-key: the server's public
// receipt key, hex encoded.
type ReceiptKey struct {
	Key string `json:"receipt_key"`
}
