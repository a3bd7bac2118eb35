package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// validName checks a host, VM or disk name: 1-128 bytes of valid UTF-8,
// no control characters, no path separators, not "." or "..", and not
// starting with a dot or a space.
func validName(kind, s string) error {
	bad := func(why string) error {
		return errf(http.StatusBadRequest, CodeBadName, fmt.Sprintf("invalid %s name %q: %s", kind, s, why))
	}
	switch {
	case s == "":
		return bad("empty")
	case len(s) > 128:
		return bad("longer than 128 bytes")
	case !utf8.ValidString(s):
		return bad("not UTF-8")
	case strings.ContainsAny(s, `/\:`):
		return bad("contains a path separator")
	case s[0] == '.' || s[0] == ' ' || s[len(s)-1] == ' ':
		return bad("starts with a dot or a space, or ends with a space")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return bad("contains a control character")
		}
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative duration %s", s)
	}
	return d, err
}
