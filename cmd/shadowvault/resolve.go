package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// A SNAPSHOT argument is a snapshot ID, a unique prefix of one (at least
// minPrefix hex characters; `snapshots` shows the shortest unique prefix
// of at least shortIDLen), or "latest": the newest snapshot, of --host
// and --vm when given.
const (
	idLen      = 32 // hex characters of a snapshot ID
	minPrefix  = 4
	shortIDLen = 8
	latest     = "latest"
)

var (
	// errNoSnapshot: no snapshot the token may see matches the argument
	// (exit 3, as the server's unknown snapshot).
	errNoSnapshot = errors.New("no snapshot matches")
	// errAmbiguous: a prefix matches more than one snapshot (exit 2).
	errAmbiguous = errors.New("ambiguous snapshot prefix")
)

// snapshotHelp describes SNAPSHOT for the -h of the verbs that take one.
const snapshotHelp = `SNAPSHOT is a snapshot ID, any unique prefix of one (at least 4
characters; ` + "`snapshots`" + ` shows the shortest unique one), or latest: the
newest snapshot, of --host and --vm if given. A prefix is looked for among
the snapshots of --host and --vm too.
`

// resolveSnapshot turns a SNAPSHOT argument into a snapshot ID, looking
// the prefix or "latest" up in GET /api/v1/snapshots, which lists only the
// snapshots the token may see (a host's agent: its own). host and vm
// narrow the search ("" for any). A full ID without host or vm is taken
// as it is: the server says whether it exists.
func resolveSnapshot(ctx context.Context, c *agent.Client, arg, host, vm string) (string, error) {
	arg = strings.ToLower(strings.TrimSpace(arg))
	if len(arg) == idLen && isHex(arg) && host == "" && vm == "" {
		return arg, nil
	}
	if err := checkSnapshotArg(arg); err != nil {
		return "", err
	}
	list, err := listSnapshots(ctx, c, host, vm)
	if err != nil {
		return "", err
	}
	return matchSnapshot(list, arg, host, vm)
}

// listSnapshots fetches the snapshots of host and vm ("" for any), oldest
// first.
func listSnapshots(ctx context.Context, c *agent.Client, host, vm string) ([]apiv1.SnapshotSummary, error) {
	q := "/api/v1/snapshots?host=" + urlQuery(host) + "&vm=" + urlQuery(vm)
	var out apiv1.SnapshotList
	if err := c.Do(ctx, http.MethodGet, q, nil, 0, &out); err != nil {
		return nil, err
	}
	return out.Snapshots, nil
}

// checkSnapshotArg refuses what cannot name a snapshot before asking.
func checkSnapshotArg(arg string) error {
	arg = strings.ToLower(strings.TrimSpace(arg))
	switch {
	case arg == latest:
		return nil
	case arg == "":
		return usageErrorf("no SNAPSHOT given: an ID, a prefix of one or latest")
	case !isHex(arg) || len(arg) > idLen:
		return fmt.Errorf("%w %q: a snapshot ID is %d hex characters", errNoSnapshot, arg, idLen)
	case len(arg) < minPrefix:
		return usageErrorf("snapshot prefix %q is too short: give at least %d characters", arg, minPrefix)
	}
	return nil
}

// matchSnapshot finds arg (checked by checkSnapshotArg, lower case) in
// list; host and vm only word the errors.
func matchSnapshot(list []apiv1.SnapshotSummary, arg, host, vm string) (string, error) {
	if err := checkSnapshotArg(arg); err != nil {
		return "", err
	}
	if arg == latest {
		if len(list) == 0 {
			return "", fmt.Errorf("%w latest: there are no snapshots%s", errNoSnapshot, ofHostVM(host, vm))
		}
		// IDs begin with their time in nanoseconds: the greatest is the newest.
		return slices.MaxFunc(list, func(a, b apiv1.SnapshotSummary) int { return strings.Compare(a.ID, b.ID) }).ID, nil
	}
	var found []apiv1.SnapshotSummary
	for _, s := range list {
		if strings.HasPrefix(s.ID, arg) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w %q%s", errNoSnapshot, arg, ofHostVM(host, vm))
	case 1:
		return found[0].ID, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %q: it matches %d snapshots; give more characters:", errAmbiguous, arg, len(found))
	for i, s := range found {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(found)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s  %s  %s  %s", s.ID, localTime(s.Time), s.Host, s.VM)
	}
	return "", ambiguousError(b.String())
}

// ambiguousError is an errAmbiguous with its list of candidates.
type ambiguousError string

func (e ambiguousError) Error() string { return string(e) }
func (e ambiguousError) Unwrap() error { return errAmbiguous }

func ofHostVM(host, vm string) string {
	switch {
	case host != "" && vm != "":
		return " of host " + host + " and VM " + vm
	case host != "":
		return " of host " + host
	case vm != "":
		return " of VM " + vm
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// shortIDs maps each ID to its shortest prefix of at least least characters
// that no other ID of ids shares, as `snapshots` shows it. IDs begin with
// their time, so snapshots taken within seconds of each other need more
// than 8 characters.
func shortIDs(ids []string, least int) map[string]string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	out := make(map[string]string, len(sorted))
	for i, id := range sorted {
		n := least
		if i > 0 {
			n = max(n, commonPrefix(id, sorted[i-1])+1)
		}
		if i+1 < len(sorted) {
			n = max(n, commonPrefix(id, sorted[i+1])+1)
		}
		out[id] = id[:min(n, len(id))]
	}
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
