package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shadowvault/shadowvault/apiv1"
)

// validName checks a host, VM or disk name: 1-128 bytes of valid UTF-8,
// no control characters, no path separators, not "." or "..", and not
// starting with a dot or a space.
func validName(kind, s string) error {
	bad := func(why string) error {
		return errf(http.StatusBadRequest, apiv1.CodeBadName, fmt.Sprintf("invalid %s name %q: %s", kind, s, why))
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

// maxDeclaredDisks bounds the disks a session may declare.
const maxDeclaredDisks = 256

// validDiskList checks the disks a session declares: nil (none declared),
// or 1 to maxDeclaredDisks valid disk names, each once.
func validDiskList(names []string) error {
	if names == nil {
		return nil
	}
	if len(names) == 0 || len(names) > maxDeclaredDisks {
		return errf(http.StatusBadRequest, apiv1.CodeBadRequest,
			fmt.Sprintf("disks lists %d names: declare 1 to %d disks, or omit it", len(names), maxDeclaredDisks))
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if err := validName("disk", n); err != nil {
			return err
		}
		if seen[n] {
			return errf(http.StatusBadRequest, apiv1.CodeBadRequest, fmt.Sprintf("disk %q is declared twice", n))
		}
		seen[n] = true
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
