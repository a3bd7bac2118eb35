package ingest

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strconv"
	"strings"
)

// ErrBadRanges is returned for a multipart/byteranges body that does not
// describe a valid change of a disk: a part without a valid Content-Range,
// parts out of order or overlapping, a range past the size, sizes that
// differ between parts, or a part whose body is not its range's length.
var ErrBadRanges = errors.New("bad byte ranges")

// ErrTruncatedBody is returned when an incremental upload's body ends
// inside a part.
var ErrTruncatedBody = errors.New("body cut short")

// maxIncrementalSize bounds the virtual size an incremental upload may
// name: the VHDX maximum, 64 TiB.
const maxIncrementalSize = 64 << 40

// span is a byte range [off, end) of the virtual disk.
type span struct{ off, end int64 }

// rangeParts reads the parts of a multipart/byteranges body in order,
// checking each against the ones before it.
type rangeParts struct {
	mr   *multipart.Reader
	size int64 // the SIZE every part names; -1 before the first part
	end  int64 // end of the previous part
	n    int   // parts read
	done bool
	body *hashReader
}

func newRangeParts(body *hashReader, boundary string) *rangeParts {
	return &rangeParts{mr: multipart.NewReader(body, boundary), size: -1, body: body}
}

// empty reports whether the body had no bytes at all: an unchanged disk.
func (rp *rangeParts) empty() bool { return rp.body.n == 0 }

// next returns the next part's range and body (the body must be read to
// its end before next is called again), or io.EOF after the last part.
func (rp *rangeParts) next() (span, io.Reader, error) {
	if rp.done {
		return span{}, nil, io.EOF
	}
	p, err := rp.mr.NextRawPart()
	if err == io.EOF || rp.n == 0 && rp.empty() && errors.Is(err, io.EOF) {
		rp.done = true
		return span{}, nil, io.EOF
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return span{}, nil, err
		}
		return span{}, nil, fmt.Errorf("%w: part %d: %v", ErrBadRanges, rp.n+1, err)
	}
	rp.n++
	sp, size, err := parseContentRange(p.Header.Get("Content-Range"))
	if err != nil {
		return span{}, nil, fmt.Errorf("%w: part %d: %v", ErrBadRanges, rp.n, err)
	}
	switch {
	case rp.size >= 0 && size != rp.size:
		return span{}, nil, fmt.Errorf("%w: part %d names size %d, an earlier part %d", ErrBadRanges, rp.n, size, rp.size)
	case sp.off < rp.end:
		return span{}, nil, fmt.Errorf("%w: part %d at %d is out of order or overlaps the part before, which ends at %d", ErrBadRanges, rp.n, sp.off, rp.end)
	}
	rp.size, rp.end = size, sp.end
	return sp, &exactPart{r: p, left: sp.end - sp.off, n: rp.n}, nil
}

// parseContentRange parses "bytes FIRST-LAST/SIZE".
func parseContentRange(h string) (span, int64, error) {
	spec, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return span{}, 0, fmt.Errorf("Content-Range %q is not bytes FIRST-LAST/SIZE", h)
	}
	rng, sz, ok := strings.Cut(spec, "/")
	first, last, ok2 := strings.Cut(rng, "-")
	if !ok || !ok2 {
		return span{}, 0, fmt.Errorf("Content-Range %q is not bytes FIRST-LAST/SIZE", h)
	}
	num := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 || s == "" || s[0] == '+' {
			return -1
		}
		return v
	}
	a, b, size := num(first), num(last), num(sz)
	switch {
	case a < 0 || b < 0 || size < 0:
		return span{}, 0, fmt.Errorf("Content-Range %q is not bytes FIRST-LAST/SIZE", h)
	case size == 0 || size > maxIncrementalSize:
		return span{}, 0, fmt.Errorf("size %d: a disk has 1 byte to 64 TiB", size)
	case a > b || b >= size:
		return span{}, 0, fmt.Errorf("range %d-%d outside a disk of %d bytes", a, b, size)
	}
	return span{a, b + 1}, size, nil
}

// exactPart is a part's body, which must hold exactly its range's bytes.
type exactPart struct {
	r    io.Reader
	left int64
	n    int
}

func (e *exactPart) Read(p []byte) (int, error) {
	if e.left == 0 {
		var one [1]byte
		if k, _ := io.ReadFull(e.r, one[:]); k > 0 {
			return 0, fmt.Errorf("%w: part %d is longer than its range", ErrBadRanges, e.n)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("%w: part %d ends %d bytes before its range does", ErrBadRanges, e.n, e.left)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
