package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path"
	"strings"
)

var lsCmd = command{
	name:    "ls",
	args:    "SNAPSHOT DISK [PATH]",
	summary: "list a directory inside a snapshot disk's NTFS volume, or (-R) everything below it",
	about: snapshotHelp + "\n" + pathHelp + "\n" + `PATH defaults to the volume's root. Each entry shows its time, size and
name (-R: its path). A recursive listing goes at most --max-depth levels
down, stops after --max-entries entries (exit 1), and does not follow a
directory that lists like one of its parents (a loop on a damaged volume).
`,
}

var findCmd = command{
	name:    "find",
	args:    "SNAPSHOT DISK PATTERN [PATH]",
	summary: "find the files and directories whose name matches PATTERN inside a snapshot disk's NTFS volume",
	about: snapshotHelp + "\n" + pathHelp + "\n" + `PATTERN is a glob on the name (*.ini, report-20??.xlsx, [ab]*): * any
characters, ? one, [...] one of a set; case does not matter. The search
starts at PATH (default: the root) and has the bounds of ls -R.
`,
}

type walkOpts struct {
	fsOpts
	maxDepth, maxEntries int
	json                 bool
}

func (o *walkOpts) register(fs *flag.FlagSet) {
	o.fsOpts.register(fs)
	fs.IntVar(&o.maxDepth, "max-depth", defaultMaxDepth, "list at most `N` levels of directories (1: PATH alone)")
	fs.IntVar(&o.maxEntries, "max-entries", defaultMaxEntries, "stop after `N` entries")
	fs.BoolVar(&o.json, "json", false, "print JSON: {\"path\": PATH, \"entries\": [{\"path\", \"name\", \"size\", \"dir\", \"mtime\"}]}")
}

type lsOpts struct {
	walkOpts
	recursive bool
}

func lsFlags() (*flag.FlagSet, *lsOpts) {
	fs := lsCmd.flagSet()
	o := &lsOpts{}
	o.register(fs)
	fs.BoolVar(&o.recursive, "R", false, "list the directories below PATH too")
	return fs, o
}

func findFlags() (*flag.FlagSet, *walkOpts) {
	fs := findCmd.flagSet()
	o := &walkOpts{}
	o.register(fs)
	return fs, o
}

func cmdLs(args []string) int {
	fs, o := lsFlags()
	pos := parseArgs(fs, args)
	if len(pos) < 2 || len(pos) > 3 {
		return fail(usageErrorf("ls needs SNAPSHOT and DISK, and takes a PATH"))
	}
	dir := "/"
	if len(pos) == 3 {
		dir = guestPath(pos[2])
	}
	if !o.recursive {
		o.maxDepth = 1
	}
	return o.walkVolume(pos[0], pos[1], dir, func(fileEntry) bool { return true }, o.recursive)
}

func cmdFind(args []string) int {
	fs, o := findFlags()
	pos := parseArgs(fs, args)
	if len(pos) < 3 || len(pos) > 4 {
		return fail(usageErrorf("find needs SNAPSHOT, DISK and PATTERN, and takes a PATH"))
	}
	pattern := strings.ToLower(pos[2])
	if _, err := path.Match(pattern, ""); err != nil || strings.ContainsAny(pattern, `/\`) {
		return fail(usageErrorf("find: PATTERN %q: want a glob on a name, such as *.ini", pos[2]))
	}
	dir := "/"
	if len(pos) == 4 {
		dir = guestPath(pos[3])
	}
	match := func(e fileEntry) bool {
		ok, _ := path.Match(pattern, strings.ToLower(e.Name))
		return ok
	}
	return o.walkVolume(pos[0], pos[1], dir, match, true)
}

// walkVolume lists dir of the volume, printing the entries match accepts
// as they come (with their paths when fullPaths), or all at the end with
// --json.
func (o *walkOpts) walkVolume(snapArg, disk, dir string, match func(fileEntry) bool, fullPaths bool) int {
	if o.maxDepth < 1 || o.maxEntries < 1 {
		return fail(usageErrorf("--max-depth and --max-entries must be at least 1"))
	}
	if err := checkSnapshotArg(snapArg); err != nil {
		return fail(err)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	v, err := o.openVolume(ctx, c, snapArg, disk)
	if err != nil {
		return fail(err)
	}
	found := []fileEntry{}
	out := bufio.NewWriter(stdout)
	w := &walker{list: v.list, maxDepth: o.maxDepth, maxEntries: o.maxEntries, log: slog.Default()}
	w.visit = func(e fileEntry) error {
		name := e.Name
		if fullPaths {
			name = e.Path
		}
		switch {
		case !match(e):
		case o.json:
			found = append(found, e)
		default:
			_, err := fmt.Fprintln(out, entryLine(e, name))
			return err
		}
		return nil
	}
	err = w.walk(ctx, dir)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if o.json && (err == nil || errors.Is(err, errWalkLimit)) {
		if code := printJSON(struct {
			Path    string      `json:"path"`
			Entries []fileEntry `json:"entries"`
		}{dir, found}); code != exitOK {
			return code
		}
	}
	if err != nil {
		return fail(err)
	}
	return exitOK
}
