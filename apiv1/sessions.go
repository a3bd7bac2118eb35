package apiv1

import (
	"encoding/json"
	"time"
)

// SessionRequest opens a session: POST /api/v1/sessions. An empty
// backup type means full, an empty consistency crash (nothing says VSS
// writers prepared the guest).
type SessionRequest struct {
	Host        string      `json:"host"`
	VM          string      `json:"vm"`
	BackupType  BackupType  `json:"backup_type"`
	Consistency Consistency `json:"consistency"`
	// Writers is the VSS writer metadata the agent gathered, a JSON array
	// of objects such as Writer; the server keeps it as sent.
	Writers json.RawMessage `json:"writers,omitempty"`
	// Disks, if given, are every disk the session will hold: the server
	// then refuses to complete without each of them, and refuses others.
	Disks []string `json:"disks,omitempty"`
	// Schedule names the schedule this backup runs for; the backup's job
	// in the history then has the trigger "schedule".
	Schedule string `json:"schedule,omitempty"`
}

// Writer names a VSS writer in SessionRequest.Writers.
type Writer struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Session is the answer to opening a session (201): the session id and
// the settings it was opened with, defaults applied.
type Session struct {
	BackupType  BackupType  `json:"backup_type"`
	Consistency Consistency `json:"consistency"`
	Created     time.Time   `json:"created"`
	Disks       []string    `json:"disks,omitempty"`
	Host        string      `json:"host"`
	ID          string      `json:"id"`
	VM          string      `json:"vm"`
}

// AbortResult is the answer to POST /api/v1/sessions/{id}/abort.
type AbortResult struct {
	Aborted bool   `json:"aborted"`
	ID      string `json:"id"`
}

// WriterMetadataResult is the answer to PUT
// /api/v1/sessions/{id}/writer-metadata, whose body is the VSS writer
// metadata document (diskshadow's backup .cab).
type WriterMetadataResult struct {
	Session string `json:"session"`
	Bytes   int    `json:"writer_metadata_bytes"`
}

// SessionList is the answer to GET /api/v1/sessions (admin): the sessions
// in flight.
type SessionList struct {
	Sessions []SessionStatus `json:"sessions"`
}

// SessionStatus is one session in flight.
type SessionStatus struct {
	ID         string      `json:"id"`
	Info       SessionInfo `json:"info"`
	Created    time.Time   `json:"created"`
	LastActive time.Time   `json:"last_active"`
	Disks      []string    `json:"disks"`     // stored
	Uploading  []string    `json:"uploading"` // in flight
	Failed     []string    `json:"failed"`    // the last upload failed
}

// SessionInfo is what a session was opened with, and by which token.
type SessionInfo struct {
	SessionRequest
	Owner string `json:"owner,omitempty"`
}
