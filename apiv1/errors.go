package apiv1

import "slices"

// Code is the machine-readable code of an error answer.
type Code string

func (c Code) String() string { return string(c) }

// Error codes of the API.
const (
	CodeUnauthorized     Code = "UNAUTHORIZED"
	CodeForbidden        Code = "FORBIDDEN"
	CodeCSRFFailed       Code = "CSRF_FAILED"  // a dashboard session's unsafe request without its CSRF token, or from another origin
	CodeLinkExpired      Code = "LINK_EXPIRED" // a signed link past its expiry
	CodeNotFound         Code = "NOT_FOUND"
	CodeBadRequest       Code = "BAD_REQUEST"
	CodeBadName          Code = "BAD_NAME"
	CodeBodyTooLarge     Code = "BODY_TOO_LARGE"
	CodeTruncatedBody    Code = "TRUNCATED_BODY"
	CodeBadDiskImage     Code = "BAD_DISK_IMAGE"
	CodeEmptyDisk        Code = "EMPTY_DISK"
	CodeTruncatedImage   Code = "TRUNCATED_IMAGE"
	CodeTrailingData     Code = "TRAILING_DATA"
	CodeFormatMismatch   Code = "FORMAT_MISMATCH"
	CodeUnsupported      Code = "UNSUPPORTED_IMAGE"
	CodeSpillLimit       Code = "SPILL_LIMIT"
	CodeMetadataLimit    Code = "METADATA_LIMIT"
	CodeBadHints         Code = "BAD_HINTS" // malformed guest hints
	CodeTooManyUploads   Code = "TOO_MANY_UPLOADS"
	CodeUnknownSession   Code = "UNKNOWN_SESSION"
	CodeSessionCompleted Code = "SESSION_COMPLETED"
	CodeSessionAborted   Code = "SESSION_ABORTED"
	CodeSessionExpired   Code = "SESSION_EXPIRED"
	CodeSessionFailed    Code = "SESSION_FAILED"
	CodeSessionConflict  Code = "SESSION_CONFLICT" // another session for the host and VM is in flight
	CodeDiskBusy         Code = "DISK_BUSY"
	CodeNoDisks          Code = "NO_DISKS"
	CodeDiskFailed       Code = "DISK_FAILED"
	CodeDiskMissing      Code = "DISK_MISSING"
	CodeDiskNotDeclared  Code = "DISK_NOT_DECLARED"
	CodeUnknownSnapshot  Code = "UNKNOWN_SNAPSHOT"
	CodeUnknownDisk      Code = "UNKNOWN_DISK"
	CodeBadRange         Code = "RANGE_NOT_SATISFIABLE"
	CodeParentMissing    Code = "PARENT_MISSING"
	CodeBadRanges        Code = "BAD_RANGES" // an incremental body's parts: out of order, overlapping, past the size
	CodeNoBase           Code = "NO_BASE"    // the base snapshot of an incremental holds no disk of that name
	CodeNoDigests        Code = "NO_DIGESTS" // a disk too large for stored block digests
	CodeProtected        Code = "SNAPSHOT_PROTECTED"
	CodeUnsupportedFS    Code = "UNSUPPORTED_FILESYSTEM"
	CodeCorruptFS        Code = "CORRUPT_FILESYSTEM"
	CodeLastAdmin        Code = "LAST_ADMIN_TOKEN" // revoking the only admin token
	CodeBadSchedule      Code = "BAD_SCHEDULE"     // a schedule's globs, window, zone or interval do not parse
	CodeUnknownPolicy    Code = "UNKNOWN_POLICY"   // a schedule names a retention policy that is not stored
	CodeInventoryLimit   Code = "INVENTORY_TOO_LARGE"
	CodeBusy             Code = "REPOSITORY_BUSY" // maintenance while backups are in flight
	CodeNotLocked        Code = "NOT_LOCKED"      // an Object Lock operation on a repository that does not lock
	CodeStorage          Code = "STORAGE_ERROR"
	CodeCorruptData      Code = "CORRUPT_DATA"
	CodeJobNotFound      Code = "JOB_NOT_FOUND" // no job of that id in the history
	CodeSyncRunning      Code = "SYNC_RUNNING"  // a sync from the same source is running
	CodeInternal         Code = "INTERNAL"
)

// CodeMaintenanceElsewhere: a prune or repair asked of a cluster node while
// another node holds the maintenance lease (docs/SCALE.md).
const CodeMaintenanceElsewhere Code = "MAINTENANCE_ELSEWHERE"

// Codes returns every error code of the API, in the order they are
// declared above. A test holds the list to the declarations.
func Codes() []Code { return slices.Clone(codes) }

var codes = []Code{
	CodeUnauthorized,
	CodeForbidden,
	CodeCSRFFailed,
	CodeLinkExpired,
	CodeNotFound,
	CodeBadRequest,
	CodeBadName,
	CodeBodyTooLarge,
	CodeTruncatedBody,
	CodeBadDiskImage,
	CodeEmptyDisk,
	CodeTruncatedImage,
	CodeTrailingData,
	CodeFormatMismatch,
	CodeUnsupported,
	CodeSpillLimit,
	CodeMetadataLimit,
	CodeBadHints,
	CodeTooManyUploads,
	CodeUnknownSession,
	CodeSessionCompleted,
	CodeSessionAborted,
	CodeSessionExpired,
	CodeSessionFailed,
	CodeSessionConflict,
	CodeDiskBusy,
	CodeNoDisks,
	CodeDiskFailed,
	CodeDiskMissing,
	CodeDiskNotDeclared,
	CodeUnknownSnapshot,
	CodeUnknownDisk,
	CodeBadRange,
	CodeParentMissing,
	CodeBadRanges,
	CodeNoBase,
	CodeNoDigests,
	CodeProtected,
	CodeUnsupportedFS,
	CodeCorruptFS,
	CodeLastAdmin,
	CodeBadSchedule,
	CodeUnknownPolicy,
	CodeInventoryLimit,
	CodeBusy, CodeNotLocked,
	CodeStorage,
	CodeCorruptData,
	CodeJobNotFound,
	CodeSyncRunning,
	CodeInternal,
	CodeMaintenanceElsewhere,
}

// Error is what went wrong: a code for programs, a sentence for people.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Session names the session in flight that refused a new one
	// (SESSION_CONFLICT only).
	Session string `json:"session,omitempty"`
}

// ErrorBody is the body of every error answer:
// {"error":{"code":"...","message":"..."}}.
type ErrorBody struct {
	Error Error `json:"error"`
}
