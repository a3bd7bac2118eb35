package restore

import (
	"strconv"
	"strings"
)

// Range is a byte range of a restore's output.
type Range struct {
	Off, Len int64
}

// ParseRange parses an HTTP Range header of one range ("bytes=a-b",
// "bytes=a-" or "bytes=-n") against an output of size bytes. It reports
// false for anything else, or a range that is not satisfiable.
func ParseRange(h string, size int64) (Range, bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return Range{}, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return Range{}, false
	}
	if a == "" {
		k, err := strconv.ParseInt(b, 10, 64)
		if err != nil || k <= 0 || size == 0 {
			return Range{}, false
		}
		k = min(k, size)
		return Range{size - k, k}, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return Range{}, false
	}
	end := size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return Range{}, false
		}
		end = min(end, size-1)
	}
	return Range{start, end - start + 1}, true
}
