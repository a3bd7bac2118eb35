package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/restore"
	"github.com/shadowvault/shadowvault/vhd"
)

// apiError is an error answer: the status, and the code and message of
// its body.
type apiError struct {
	status int
	code   apiv1.Code
	msg    string
}

func (e *apiError) Error() string { return string(e.code) + ": " + e.msg }

func errf(status int, code apiv1.Code, msg string) *apiError { return &apiError{status, code, msg} }

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
		code   apiv1.Code
	}{
		{repo.ErrUnknownSession, http.StatusNotFound, apiv1.CodeUnknownSession},
		{repo.ErrSessionClosed, http.StatusConflict, apiv1.CodeSessionCompleted},
		{repo.ErrSessionAborted, http.StatusConflict, apiv1.CodeSessionAborted},
		{repo.ErrSessionExpired, http.StatusGone, apiv1.CodeSessionExpired},
		{repo.ErrSessionConflict, http.StatusConflict, apiv1.CodeSessionConflict},
		{repo.ErrUnknownJob, http.StatusNotFound, apiv1.CodeJobNotFound},
		{repo.ErrDiskBusy, http.StatusConflict, apiv1.CodeDiskBusy},
		{repo.ErrNoDisks, http.StatusBadRequest, apiv1.CodeNoDisks},
		{repo.ErrDiskFailed, http.StatusConflict, apiv1.CodeDiskFailed},
		{repo.ErrDiskMissing, http.StatusConflict, apiv1.CodeDiskMissing},
		{repo.ErrDiskNotDeclared, http.StatusBadRequest, apiv1.CodeDiskNotDeclared},
		{repo.ErrUnknownSnapshot, http.StatusNotFound, apiv1.CodeUnknownSnapshot},
		{repo.ErrNoWriterMetadata, http.StatusNotFound, apiv1.CodeNotFound},
		{repo.ErrBadWriterMetadata, http.StatusBadRequest, apiv1.CodeBadRequest},
		{vhd.ErrSpillLimit, http.StatusRequestEntityTooLarge, apiv1.CodeSpillLimit},
		{vhd.ErrMetadataLimit, http.StatusRequestEntityTooLarge, apiv1.CodeMetadataLimit},
		{vhd.ErrFormatMismatch, http.StatusBadRequest, apiv1.CodeFormatMismatch},
		{vhd.ErrEmptyDisk, http.StatusBadRequest, apiv1.CodeEmptyDisk},
		{vhd.ErrUnsupported, http.StatusBadRequest, apiv1.CodeUnsupported},
		{diskmap.ErrBadHints, http.StatusBadRequest, apiv1.CodeBadHints},
		{ingest.ErrTrailingData, http.StatusBadRequest, apiv1.CodeTrailingData},
		{vhd.ErrTruncated, http.StatusBadRequest, apiv1.CodeTruncatedImage},
		{vhd.ErrCorrupt, http.StatusBadRequest, apiv1.CodeBadDiskImage},
		{io.ErrUnexpectedEOF, http.StatusBadRequest, apiv1.CodeTruncatedBody},
		{repo.ErrProtected, http.StatusConflict, apiv1.CodeProtected},
		{repo.ErrMaintenanceElsewhere, http.StatusConflict, apiv1.CodeMaintenanceElsewhere},
		{repo.ErrLeaseLost, http.StatusConflict, apiv1.CodeMaintenanceElsewhere},
		{restore.ErrUnknownDisk, http.StatusNotFound, apiv1.CodeUnknownDisk},
		{restore.ErrBadFormat, http.StatusBadRequest, apiv1.CodeBadRequest},
		{restore.ErrTooLarge, http.StatusBadRequest, apiv1.CodeBadRequest},
		{restore.ErrNoParent, http.StatusConflict, apiv1.CodeParentMissing},
		{restore.ErrParentLoop, http.StatusConflict, apiv1.CodeParentMissing},
		{repo.ErrMissingChunk, http.StatusInternalServerError, apiv1.CodeCorruptData},
		{repo.ErrCorrupt, http.StatusInternalServerError, apiv1.CodeCorruptData},
		{diskmap.ErrCorrupt, http.StatusInternalServerError, apiv1.CodeCorruptData},
		{backend.ErrTransient, http.StatusServiceUnavailable, apiv1.CodeStorage},
		{backend.ErrPermission, http.StatusServiceUnavailable, apiv1.CodeStorage},
		{backend.ErrNotFound, http.StatusInternalServerError, apiv1.CodeCorruptData},
		{repo.ErrSessionFailed, http.StatusServiceUnavailable, apiv1.CodeSessionFailed},
		{ingest.ErrBadRanges, http.StatusBadRequest, apiv1.CodeBadRanges},
		{ingest.ErrTruncatedBody, http.StatusBadRequest, apiv1.CodeTruncatedBody},
		{repo.ErrNoBase, http.StatusNotFound, apiv1.CodeNoBase},
	}
	if errors.As(err, &mbe) {
		return errf(http.StatusRequestEntityTooLarge, apiv1.CodeBodyTooLarge, err.Error())
	}
	for _, t := range table {
		if errors.Is(err, t.target) {
			return errf(t.status, t.code, err.Error())
		}
	}
	if errors.Is(err, context.Canceled) {
		return errf(http.StatusBadRequest, apiv1.CodeTruncatedBody, "request cancelled: "+err.Error())
	}
	return errf(http.StatusInternalServerError, apiv1.CodeInternal, err.Error())
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if l := logger(r); l != nil {
		l.Warn("request failed", "code", ae.code, "err", err)
	}
	body := apiv1.ErrorBody{Error: apiv1.Error{Code: ae.code, Message: ae.msg}}
	if ce := (*repo.ConflictError)(nil); errors.As(err, &ce) {
		body.Error.Session = ce.Session
	}
	writeJSON(w, ae.status, body)
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
			return errf(http.StatusRequestEntityTooLarge, apiv1.CodeBodyTooLarge, "JSON body over 1 MiB")
		}
		return errf(http.StatusBadRequest, apiv1.CodeBadRequest, "invalid JSON body: "+err.Error())
	}
	return nil
}
