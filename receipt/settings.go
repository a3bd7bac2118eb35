package receipt

import "fmt"

// BackupType says what the guests may do after a backup: a full backup
// lets them truncate their logs, a copy backup never does.
//
// The value is its wire form ("full", "copy"). BackupType is a string type,
// not a number, because receipts are signed over their JSON: a receipt
// decodes and encodes again to exactly the bytes that were signed, whatever
// it says, and so verification decides what a receipt is worth, never a
// decoder. Parse values at the edge with ParseBackupType, or check decoded
// ones with Valid.
type BackupType string

// Backup types.
const (
	BackupFull BackupType = "full"
	BackupCopy BackupType = "copy"
)

func (t BackupType) String() string { return string(t) }

// Valid reports whether t is one of the backup types.
func (t BackupType) Valid() bool { return t == BackupFull || t == BackupCopy }

// ParseBackupType parses "full" or "copy".
func ParseBackupType(s string) (BackupType, error) {
	if t := BackupType(s); t.Valid() {
		return t, nil
	}
	return "", fmt.Errorf("backup type %q: want full or copy", s)
}

// Consistency says what prepared the guest for a backup: application when
// the VSS writers did (the agent ran the VSS loop), crash when nothing did.
// Like BackupType, the value is its wire form.
type Consistency string

// Consistencies of a backup.
const (
	ConsistencyApplication Consistency = "application"
	ConsistencyCrash       Consistency = "crash"
)

func (c Consistency) String() string { return string(c) }

// Valid reports whether c is one of the consistencies.
func (c Consistency) Valid() bool { return c == ConsistencyApplication || c == ConsistencyCrash }

// ParseConsistency parses "application" or "crash".
func ParseConsistency(s string) (Consistency, error) {
	if c := Consistency(s); c.Valid() {
		return c, nil
	}
	return "", fmt.Errorf("consistency %q: want application or crash", s)
}

// TruncateLogs is the rule for a receipt's truncate_logs: the guests may
// truncate their logs only after a full, application-consistent backup. The
// server signs what it says; the agent checks a receipt against it.
func TruncateLogs(t BackupType, c Consistency) bool {
	return t == BackupFull && c == ConsistencyApplication
}
