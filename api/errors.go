package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/restore"
	"github.com/shadowvault/shadowvault/vhd"
)

// Error codes of the API.
const (
	CodeUnauthorized     = "UNAUTHORIZED"
	CodeForbidden        = "FORBIDDEN"
	CodeNotFound         = "NOT_FOUND"
	CodeBadRequest       = "BAD_REQUEST"
	CodeBadName          = "BAD_NAME"
	CodeBodyTooLarge     = "BODY_TOO_LARGE"
	CodeTruncatedBody    = "TRUNCATED_BODY"
	CodeBadDiskImage     = "BAD_DISK_IMAGE"
	CodeEmptyDisk        = "EMPTY_DISK"
	CodeTruncatedImage   = "TRUNCATED_IMAGE"
	CodeTrailingData     = "TRAILING_DATA"
	CodeFormatMismatch   = "FORMAT_MISMATCH"
	CodeUnsupported      = "UNSUPPORTED_IMAGE"
	CodeSpillLimit       = "SPILL_LIMIT"
	CodeMetadataLimit    = "METADATA_LIMIT"
	CodeTooManyUploads   = "TOO_MANY_UPLOADS"
	CodeUnknownSession   = "UNKNOWN_SESSION"
	CodeSessionCompleted = "SESSION_COMPLETED"
	CodeSessionAborted   = "SESSION_ABORTED"
	CodeSessionExpired   = "SESSION_EXPIRED"
	CodeSessionFailed    = "SESSION_FAILED"
	CodeDiskBusy         = "DISK_BUSY"
	CodeNoDisks          = "NO_DISKS"
	CodeDiskFailed       = "DISK_FAILED"
	CodeDiskMissing      = "DISK_MISSING"
	CodeDiskNotDeclared  = "DISK_NOT_DECLARED"
	CodeUnknownSnapshot  = "UNKNOWN_SNAPSHOT"
	CodeUnknownDisk      = "UNKNOWN_DISK"
	CodeBadRange         = "RANGE_NOT_SATISFIABLE"
	CodeParentMissing    = "PARENT_MISSING"
	CodeProtected        = "SNAPSHOT_PROTECTED"
	CodeStorage          = "STORAGE_ERROR"
	CodeCorruptData      = "CORRUPT_DATA"
	CodeInternal         = "INTERNAL"
)

type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, msg string) *apiError { return &apiError{status, code, msg} }

// classify maps an error to a status and code. Known sentinels are checked
// with errors.Is, from most to least specific.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	table := []struct {
		target error
		status int
		code   string
	}{
		{repo.ErrUnknownSession, http.StatusNotFound, CodeUnknownSession},
		{repo.ErrSessionClosed, http.StatusConflict, CodeSessionCompleted},
		{repo.ErrSessionAborted, http.StatusConflict, CodeSessionAborted},
		{repo.ErrSessionExpired, http.StatusGone, CodeSessionExpired},
		{repo.ErrDiskBusy, http.StatusConflict, CodeDiskBusy},
		{repo.ErrNoDisks, http.StatusBadRequest, CodeNoDisks},
		{repo.ErrDiskFailed, http.StatusConflict, CodeDiskFailed},
		{repo.ErrDiskMissing, http.StatusConflict, CodeDiskMissing},
		{repo.ErrDiskNotDeclared, http.StatusBadRequest, CodeDiskNotDeclared},
		{repo.ErrUnknownSnapshot, http.StatusNotFound, CodeUnknownSnapshot},
		{repo.ErrNoWriterMetadata, http.StatusNotFound, CodeNotFound},
		{repo.ErrBadWriterMetadata, http.StatusBadRequest, CodeBadRequest},
		{vhd.ErrSpillLimit, http.StatusRequestEntityTooLarge, CodeSpillLimit},
		{vhd.ErrMetadataLimit, http.StatusRequestEntityTooLarge, CodeMetadataLimit},
		{vhd.ErrFormatMismatch, http.StatusBadRequest, CodeFormatMismatch},
		{vhd.ErrEmptyDisk, http.StatusBadRequest, CodeEmptyDisk},
		{vhd.ErrUnsupported, http.StatusBadRequest, CodeUnsupported},
		{diskmap.ErrBadHints, http.StatusBadRequest, CodeBadHints},
		{ingest.ErrTrailingData, http.StatusBadRequest, CodeTrailingData},
		{vhd.ErrTruncated, http.StatusBadRequest, CodeTruncatedImage},
		{vhd.ErrCorrupt, http.StatusBadRequest, CodeBadDiskImage},
		{io.ErrUnexpectedEOF, http.StatusBadRequest, CodeTruncatedBody},
		{repo.ErrProtected, http.StatusConflict, CodeProtected},
		{restore.ErrUnknownDisk, http.StatusNotFound, CodeUnknownDisk},
		{restore.ErrBadFormat, http.StatusBadRequest, CodeBadRequest},
		{restore.ErrTooLarge, http.StatusBadRequest, CodeBadRequest},
		{restore.ErrNoParent, http.StatusConflict, CodeParentMissing},
		{restore.ErrParentLoop, http.StatusConflict, CodeParentMissing},
		{repo.ErrMissingChunk, http.StatusInternalServerError, CodeCorruptData},
		{repo.ErrCorrupt, http.StatusInternalServerError, CodeCorruptData},
		{diskmap.ErrCorrupt, http.StatusInternalServerError, CodeCorruptData},
		{backend.ErrTransient, http.StatusServiceUnavailable, CodeStorage},
		{backend.ErrPermission, http.StatusServiceUnavailable, CodeStorage},
		{backend.ErrNotFound, http.StatusInternalServerError, CodeCorruptData},
		{repo.ErrSessionFailed, http.StatusServiceUnavailable, CodeSessionFailed},
	}
	if errors.As(err, &mbe) {
		return errf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, err.Error())
	}
	for _, t := range table {
		if errors.Is(err, t.target) {
			return errf(t.status, t.code, err.Error())
		}
	}
	if errors.Is(err, context.Canceled) {
		return errf(http.StatusBadRequest, CodeTruncatedBody, "request cancelled: "+err.Error())
	}
	return errf(http.StatusInternalServerError, CodeInternal, err.Error())
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if l := logger(r); l != nil {
		l.Warn("request failed", "code", ae.code, "err", err)
	}
	writeJSON(w, ae.status, map[string]any{"error": map[string]string{"code": ae.code, "message": ae.msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxJSON caps control-plane bodies.
const maxJSON = 1 << 20

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "JSON body over 1 MiB")
		}
		return errf(http.StatusBadRequest, CodeBadRequest, "invalid JSON body: "+err.Error())
	}
	return nil
}
