package main

import (
	"debug/buildinfo"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersion: version and --version print the build information of the
// binary as go build recorded it: the commit when it stamped one (a git
// checkout; not a worktree, not -buildvcs=false), else "unknown".
func TestVersion(t *testing.T) {
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	want := versionFrom(bi)
	if want.Go != bi.GoVersion || want.Version == "" {
		t.Fatalf("version from the build info: %+v", want)
	}
	out, code := helpOf(t, "version")
	if code != 0 || out != want.String()+"\n" {
		t.Fatalf("version: exit %d: %q, want %q", code, out, want.String()+"\n")
	}
	if out2, code := helpOf(t, "--version"); code != 0 || out2 != out {
		t.Fatalf("--version: exit %d: %q, want %q", code, out2, out)
	}
	out, _ = helpOf(t, "version", "--json")
	var got buildVersion
	if err := json.Unmarshal([]byte(out), &got); err != nil || got != want || !strings.HasSuffix(out, "}\n") {
		t.Fatalf("version --json: %v %q, want %+v", err, out, want)
	}
	t.Logf("%s", want)
}

func TestVersionFrom(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/shadowvault/shadowvault", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-03-04T05:06:07Z"}, {Key: "vcs.modified", Value: "true"}}}
	v := versionFrom(bi)
	if !strings.HasPrefix(v.String(), "shadowvault v1.2.3 commit 0123abcd (modified) of 2026-03-04T05:06:07Z, go1.26.8 ") {
		t.Fatalf("%q", v)
	}
	if v := versionFrom(&debug.BuildInfo{GoVersion: "go1.26.8"}); v.Revision != "unknown" || v.Version != "unknown" || v.Modified {
		t.Fatalf("no build settings: %+v", v)
	}
}
