package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

func TestGuestPath(t *testing.T) {
	for in, want := range map[string]string{
		`\Windows\win.ini`: "/Windows/win.ini",
		`C:\Windows`:       "/Windows",
		`c:\`:              "/",
		`C:`:               "/",
		`Windows\System32`: "/Windows/System32",
		"/a/b/../c/":       "/a/c",
		`\..\..\x`:         "/x",
		"":                 "/",
		`\$Extend`:         "/$Extend",
	} {
		if got := guestPath(in); got != want {
			t.Errorf("guestPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeVolume is a directory tree for the walker: dirs maps a path to its
// entries; links makes a directory path list like another one (a loop
// when it is an ancestor).
type fakeVolume struct {
	dirs  map[string][]apiv1.DirEntry
	links map[string]string
	calls int
}

func (v *fakeVolume) list(ctx context.Context, dir string) ([]apiv1.DirEntry, error) {
	v.calls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for from, to := range v.links {
		if rest, ok := strings.CutPrefix(dir, from); ok && (rest == "" || rest[0] == '/') {
			dir = to + rest
		}
	}
	e, ok := v.dirs[dir]
	if !ok {
		return nil, &agent.APIError{Status: 404, Code: apiv1.CodeNotFound, Message: dir}
	}
	return e, nil
}

func file(name string) apiv1.DirEntry {
	return apiv1.DirEntry{Name: name, Size: 3, MTime: time.Unix(1, 0)}
}
func dir(name string) apiv1.DirEntry {
	return apiv1.DirEntry{Name: name, Dir: true, MTime: time.Unix(2, 0)}
}

func walkAll(t *testing.T, v *fakeVolume, root string, depth, entries int) ([]string, string, error) {
	t.Helper()
	var logs bytes.Buffer
	var got []string
	w := &walker{list: v.list, maxDepth: depth, maxEntries: entries, log: slog.New(slog.NewTextHandler(&logs, nil)),
		visit: func(e fileEntry) error { got = append(got, e.Path); return nil }}
	err := w.walk(context.Background(), root)
	return got, logs.String(), err
}

func TestWalk(t *testing.T) {
	v := &fakeVolume{dirs: map[string][]apiv1.DirEntry{
		"/":                 {dir("Windows"), file("boot.ini")},
		"/Windows":          {dir("System32"), file("win.ini")},
		"/Windows/System32": {file("a.dll")},
	}}
	got, _, err := walkAll(t, v, "/", defaultMaxDepth, defaultMaxEntries)
	want := "/Windows /Windows/System32 /Windows/System32/a.dll /Windows/win.ini /boot.ini"
	if err != nil || strings.Join(got, " ") != want {
		t.Fatalf("%v %v, want %s", got, err, want)
	}
	got, logs, err := walkAll(t, v, "/", 2, defaultMaxEntries)
	if err != nil || strings.Join(got, " ") != "/Windows /Windows/System32 /Windows/win.ini /boot.ini" || !strings.Contains(logs, "max-depth") {
		t.Fatalf("depth 2: %v %v\n%s", got, err, logs)
	}
	got, _, err = walkAll(t, v, "/", defaultMaxDepth, 3)
	if !errors.Is(err, errWalkLimit) || exitCode(err) != exitFailure || len(got) != 3 {
		t.Fatalf("3 entries: %v %v (exit %d)", got, err, exitCode(err))
	}
	if _, _, err := walkAll(t, v, "/nosuch", defaultMaxDepth, defaultMaxEntries); exitCode(err) != exitRefused {
		t.Fatalf("a missing root: %v (exit %d)", err, exitCode(err))
	}
}

// TestWalkLoop: a volume whose directories point back at their parents
// (a damaged or hostile NTFS) is listed once, in a few requests, and a
// loop through many entries stays within the bounds.
func TestWalkLoop(t *testing.T) {
	v := &fakeVolume{
		dirs: map[string][]apiv1.DirEntry{
			"/":    {dir("a"), file("x")},
			"/a":   {dir("b"), dir("c"), file("y")},
			"/a/b": {file("z")},
			"/a/c": {dir("a"), file("y")}, // c/a is the volume's /a again
		},
		links: map[string]string{"/a/c/a": "/a"},
	}
	got, logs, err := walkAll(t, v, "/", defaultMaxDepth, defaultMaxEntries)
	want := "/a /a/b /a/b/z /a/c /a/c/a /a/c/y /a/y /x"
	if err != nil || strings.Join(got, " ") != want || !strings.Contains(logs, "loop") {
		t.Fatalf("%v %v, want %s\n%s", got, err, want, logs)
	}
	if v.calls > 6 {
		t.Fatalf("%d listings for 5 directories", v.calls)
	}

	// A directory whose 50 subdirectories all are itself, each listing
	// different from the last (a name changes with the depth): the loop
	// check cannot see it, the bounds stop it.
	var calls int
	wide := func(ctx context.Context, d string) ([]apiv1.DirEntry, error) {
		calls++
		depth := strings.Count(strings.TrimSuffix(d, "/"), "/")
		var es []apiv1.DirEntry
		for i := 0; i < 50; i++ {
			es = append(es, dir(fmt.Sprintf("d%d-%d", depth, i)))
		}
		return es, nil
	}
	w := &walker{list: wide, maxDepth: defaultMaxDepth, maxEntries: 10000, log: slog.New(slog.DiscardHandler),
		visit: func(fileEntry) error { return nil }}
	start := time.Now()
	if err := w.walk(context.Background(), "/"); !errors.Is(err, errWalkLimit) || calls > 10001 || time.Since(start) > 10*time.Second {
		t.Fatalf("%v after %d listings in %v", err, calls, time.Since(start))
	}

	// An interrupted walk stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	w = &walker{list: wide, maxDepth: defaultMaxDepth, maxEntries: defaultMaxEntries, log: slog.New(slog.DiscardHandler),
		visit: func(e fileEntry) error {
			if path.Base(e.Path) == "d3-0" {
				cancel()
			}
			return nil
		}}
	if err := w.walk(ctx, "/"); !errors.Is(err, context.Canceled) || exitCode(err) != exitInterrupted || calls > 10 {
		t.Fatalf("interrupted: %v after %d listings", err, calls)
	}
}

func TestWalkSkipsDamagedDirectory(t *testing.T) {
	v := &fakeVolume{dirs: map[string][]apiv1.DirEntry{
		"/":     {dir("bad"), dir("good"), {Name: "a/b"}},
		"/good": {file("f")},
	}}
	got, logs, err := walkAll(t, v, "/", defaultMaxDepth, defaultMaxEntries)
	if strings.Join(got, " ") != "/bad /good /good/f" || err == nil || !strings.Contains(logs, "cannot list") || !strings.Contains(logs, "cannot be part of a path") {
		t.Fatalf("%v %v\n%s", got, err, logs)
	}
}
