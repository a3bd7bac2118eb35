package guestfs

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Errors returned by this package, tested with errors.Is.
var (
	ErrNotFound    = errors.New("guestfs: not found")
	ErrNotDir      = errors.New("guestfs: not a directory")
	ErrIsDir       = errors.New("guestfs: is a directory")
	ErrCorrupt     = errors.New("guestfs: corrupt filesystem")
	ErrUnsupported = errors.New("guestfs: unsupported")
)

// Limits that keep a hostile volume from using unbounded memory or time.
const (
	// MaxDirEntries is the most entries one directory listing returns.
	MaxDirEntries = 1 << 20
	// maxIndexBytes caps a directory's $INDEX_ALLOCATION that is walked.
	maxIndexBytes = 1 << 30
	// maxAttrListBytes caps an $ATTRIBUTE_LIST that is expanded.
	maxAttrListBytes = 4 << 20
	// maxRuns caps the data runs of one file.
	maxRuns = 1 << 20
	// maxDepth caps the components of a path.
	maxDepth = 256
)

// corruptf returns an error wrapping ErrCorrupt.
func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// guard runs fn, turning a panic into ErrCorrupt. go-ntfs trusts the
// bytes it parses and can index out of range on a corrupt volume.
func guard(op string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			recovered.Add(1)
			err = corruptf("%s: go-ntfs panicked: %v", op, p)
		}
	}()
	return fn()
}

// recovered counts the panics guard turned into errors (for tests).
var recovered atomic.Int64

// stickyReader remembers the first real I/O error of the disk. go-ntfs
// often swallows read errors and parses zeros instead, so without it an
// unreadable chunk would look like a corrupt filesystem.
type stickyReader struct {
	r io.ReaderAt

	mu  sync.Mutex
	err error // first non-EOF error, guarded by mu
}

func (s *stickyReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
	return n, err
}

// Err returns the first I/O error seen, if any.
func (s *stickyReader) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// fmtErr returns an error wrapping sentinel with a message.
func fmtErr(sentinel error, format string, a ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, a...))
}
