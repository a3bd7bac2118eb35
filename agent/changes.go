package agent

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Change is a changed range of a disk's virtual content, as a change
// tracker reports it (the --changed-ranges file holds a JSON list of them).
type Change struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

func (c Change) end() int64 { return c.Offset + c.Length }

// ReadChanges reads a --changed-ranges file: [{"offset":N,"length":N}, ...].
func ReadChanges(path string) ([]Change, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: changed ranges: %w", ErrInput, err)
	}
	var cs []Change
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("%w: changed ranges %s: %w", ErrInput, path, err)
	}
	for _, c := range cs {
		if c.Offset < 0 || c.Length < 0 || c.Offset+c.Length < c.Offset {
			return nil, fmt.Errorf("%w: changed ranges %s: range %d+%d", ErrInput, path, c.Offset, c.Length)
		}
	}
	return cs, nil
}

// normalizeChanges sorts and merges changes, clips them to size, and adds
// what a disk grown from baseSize to size holds past the base's end. An
// unchanged disk of a new size sends its last byte, so that the server
// learns the size.
func normalizeChanges(cs []Change, baseSize, size int64) []Change {
	cs = append([]Change(nil), cs...)
	if size > baseSize {
		cs = append(cs, Change{Offset: baseSize, Length: size - baseSize})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Offset < cs[j].Offset })
	var out []Change
	for _, c := range cs {
		if c.Offset >= size || c.Length == 0 {
			continue
		}
		c.Length = min(c.Length, size-c.Offset)
		if n := len(out); n > 0 && c.Offset <= out[n-1].end() {
			out[n-1].Length = max(out[n-1].end(), c.end()) - out[n-1].Offset
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 && size != baseSize {
		out = append(out, Change{Offset: size - 1, Length: 1})
	}
	return out
}

// changesBody is a multipart/byteranges body holding the bytes of changes
// read from disk (virtual content of size bytes), and its exact length.
func changesBody(disk io.ReaderAt, size int64, cs []Change) (body io.Reader, length int64, boundary string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	boundary = "shadowvault-" + hex.EncodeToString(b[:])
	if len(cs) == 0 {
		return strings.NewReader(""), 0, boundary
	}
	var parts []io.Reader
	for i, c := range cs {
		head := fmt.Sprintf("--%s\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes %d-%d/%d\r\n\r\n",
			boundary, c.Offset, c.end()-1, size)
		if i > 0 {
			head = "\r\n" + head
		}
		parts = append(parts, strings.NewReader(head), io.NewSectionReader(disk, c.Offset, c.Length))
		length += int64(len(head)) + c.Length
	}
	tail := "\r\n--" + boundary + "--\r\n"
	parts = append(parts, strings.NewReader(tail))
	return io.MultiReader(parts...), length + int64(len(tail)), boundary
}

// changedBytes sums the lengths of cs.
func changedBytes(cs []Change) int64 {
	var n int64
	for _, c := range cs {
		n += c.Length
	}
	return n
}
