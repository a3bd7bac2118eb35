package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// wrap describes a failed operation on what (an object or a listing) and
// translates err into a sentinel of package backend where one applies. The
// result carries both the sentinel and the original error:
// "put packs/ab12: transient storage error: dial tcp ...: connection refused".
// A cancelled or expired ctx is reported as such, never as transient, so
// that nothing retries a call its caller gave up on.
func wrap(ctx context.Context, op string, what any, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("%s %v: %w", op, what, err)
		}
		return fmt.Errorf("%s %v: %w: %w", op, what, ctxErr, err)
	}
	if kind := classify(err); kind != nil {
		return fmt.Errorf("%s %v: %w: %w", op, what, kind, err)
	}
	return fmt.Errorf("%s %v: %w", op, what, err)
}

// classify returns the backend sentinel for err, or nil when none fits
// (the error is then permanent and passed on as it is). It is called only
// while the caller's context is alive, so a deadline here is one of the
// transport's own timeouts (net/http's match context.DeadlineExceeded):
// transient.
func classify(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return classifyResponse(resp)
	}
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr),
		errors.As(err, &netErr) && netErr.Timeout(),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		// minio-go replaces an EOF from the transport with this text.
		strings.Contains(err.Error(), "Connection closed by foreign host"),
		// net/http, when the server closed a kept-alive connection just as
		// the request went out on it.
		strings.Contains(err.Error(), "server closed idle connection"):
		return backend.ErrTransient
	}
	return nil
}

// classifyResponse maps an S3 error response: first by its code, then, for
// responses without a body (HEAD) or with unknown codes, by HTTP status.
func classifyResponse(resp minio.ErrorResponse) error {
	switch resp.Code {
	case minio.NoSuchKey:
		return backend.ErrNotFound
	case minio.NoSuchBucket:
		// The object's absence says nothing here: the repository itself
		// is gone or misconfigured. Report it as it is.
		return nil
	case "InvalidRequest":
		// MinIO's answer to a delete or a shorter retention of a locked
		// version (AWS answers AccessDenied).
		if strings.Contains(resp.Message, "WORM") {
			return backend.ErrLocked
		}
		return nil
	case "MethodNotAllowed":
		// The answer about an object whose current version is a delete
		// marker (a versioned bucket: removed, its old versions kept).
		return backend.ErrNotFound
	case "InvalidRange":
		return backend.ErrInvalidRange
	case minio.AccessDenied, "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"ExpiredToken", "InvalidToken", "AllAccessDisabled", "AccountProblem":
		return backend.ErrPermission
	case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
		"XMinioServerNotInitialized", "OperationAborted":
		return backend.ErrTransient
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		return backend.ErrNotFound
	case s == http.StatusRequestedRangeNotSatisfiable:
		return backend.ErrInvalidRange
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return backend.ErrPermission
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return backend.ErrTransient
	}
	return nil
}
