package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
)

func summaries(ids ...string) []apiv1.SnapshotSummary {
	var out []apiv1.SnapshotSummary
	for _, id := range ids {
		out = append(out, apiv1.SnapshotSummary{ID: id, Host: "HV01", VM: "VM1", Time: "2026-03-04T05:06:07Z"})
	}
	return out
}

// Snapshot IDs begin with their time in nanoseconds: snapshots taken
// seconds apart share their first 8 or more characters.
const (
	idA = "1898a3c4d5e60000aaaaaaaaaaaaaaaa"
	idB = "1898a3c4d5e70000bbbbbbbbbbbbbbbb" // a few ms after idA
	idC = "1898a3c500000000cccccccccccccccc"
	idD = "2000000000000000dddddddddddddddd"
)

func TestMatchSnapshot(t *testing.T) {
	list := summaries(idA, idB, idC, idD)
	for _, tc := range []struct {
		arg  string
		want string
		err  error
		code int
	}{
		{"latest", idD, nil, exitOK},
		{idB, idB, nil, exitOK},
		{"1898a3c4d5e7", idB, nil, exitOK},
		{"1898A3C4D5E6", idA, nil, exitOK}, // case does not matter
		{"2000", idD, nil, exitOK},         // 4 characters are enough when unique
		{"1898a3c5", idC, nil, exitOK},
		{"1898a3c4", "", errAmbiguous, exitUsage},
		{"1898", "", errAmbiguous, exitUsage},
		{"189", "", errUsage, exitUsage}, // too short, even if unique
		{"20", "", errUsage, exitUsage},
		{"3000", "", errNoSnapshot, exitRefused},
		{"nosuchsnap", "", errNoSnapshot, exitRefused},
		{idD + "0", "", errNoSnapshot, exitRefused},
		{"", "", errUsage, exitUsage},
	} {
		got, err := matchSnapshot(list, strings.ToLower(tc.arg), "", "")
		if got != tc.want || !errors.Is(err, tc.err) || exitCode(err) != tc.code {
			t.Errorf("%q: %q, %v (exit %d); want %q, %v (exit %d)", tc.arg, got, err, exitCode(err), tc.want, tc.err, tc.code)
		}
	}
	_, err := matchSnapshot(list, "1898a3c4", "", "")
	for _, want := range []string{idA, idB, "give more characters"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the ambiguity error does not list %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), idC) {
		t.Errorf("the ambiguity error lists %s, which does not match", idC)
	}
	if _, err := matchSnapshot(nil, "latest", "HV09", "SQL01"); !errors.Is(err, errNoSnapshot) || !strings.Contains(err.Error(), "host HV09 and VM SQL01") {
		t.Errorf("latest of nothing: %v", err)
	}
}

func TestShortIDs(t *testing.T) {
	short := shortIDs([]string{idA, idB, idC, idD}, shortIDLen)
	want := map[string]string{
		idA: "1898a3c4d5e6", idB: "1898a3c4d5e7", // taken milliseconds apart
		idC: "1898a3c5", idD: "20000000",
	}
	for id, w := range want {
		if short[id] != w {
			t.Errorf("%s: %q, want %q", id, short[id], w)
		}
	}
	list := summaries(idA, idB, idC, idD)
	for id, s := range short {
		if got, err := matchSnapshot(list, s, "", ""); got != id || err != nil {
			t.Errorf("the short ID %s names %q (%v), not %s", s, got, err, id)
		}
	}
	if one := shortIDs([]string{idA}, shortIDLen); one[idA] != idA[:8] {
		t.Errorf("a lone ID: %q", one[idA])
	}
}
