// Package retry wraps a backend.Backend and retries what may succeed on a
// second try.
//
// Only errors that wrap backend.ErrTransient are retried (a 5xx, a timeout,
// a refused or reset connection), with exponential backoff and jitter, up to
// a maximum number of attempts and never past the caller's context. An error
// that also says the object is missing, the range is invalid, the handle is
// bad, the storage refuses access, or the context ended is final at once:
// retrying it would only delay the same answer.
//
// Put seeks its reader back to where it started before each retry. List
// remembers what it already delivered, so that a listing that breaks off and
// resumes calls fn at most once per object.
package retry
