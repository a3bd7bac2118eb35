package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// Bounds of a recursive listing (ls -R, find): a damaged or hostile
// volume may hold a directory loop, or more entries than anyone wants.
const (
	defaultMaxDepth   = 64
	defaultMaxEntries = 1_000_000
)

// errWalkLimit: a listing stopped at --max-depth or --max-entries.
var errWalkLimit = errors.New("listing cut short")

// fileEntry is an entry of a listing, with its path in the volume.
type fileEntry struct {
	Path  string    `json:"path"`
	Name  string    `json:"name"`
	Size  int64     `json:"size"`
	Dir   bool      `json:"dir"`
	MTime time.Time `json:"mtime"`
}

// lister lists one directory of a volume: GET .../fs/{index}/ls?path=.
type lister func(ctx context.Context, dir string) ([]apiv1.DirEntry, error)

// walker lists a directory tree depth first, names in the server's
// order, within its bounds.
type walker struct {
	list       lister
	maxDepth   int // directories below the root descended into
	maxEntries int // entries visited
	log        *slog.Logger
	visit      func(fileEntry) error

	entries    int
	cut        error // errWalkLimit: --max-entries stopped the listing
	deepWarned bool  // --max-depth was reached, and the log says so
	failed     int   // subdirectories that could not be listed
}

// walk visits every entry under root (not root itself). A directory whose
// listing is the same as one of its ancestors' is not entered: that is
// the ancestor again, through a loop. It returns errWalkLimit (after
// visiting what fits) when --max-entries was reached (--max-depth only
// logs that it left directories out), and an error when a
// subdirectory could not be listed (after the others were visited).
func (w *walker) walk(ctx context.Context, root string) error {
	entries, err := w.list(ctx, root)
	if err != nil {
		return err
	}
	err = w.dir(ctx, root, entries, 0, [][sha256.Size]byte{fingerprint(entries)})
	switch {
	case err != nil:
		return err
	case w.cut != nil:
		return w.cut
	case w.failed > 0:
		return fmt.Errorf("%d directories could not be listed (see the log)", w.failed)
	}
	return nil
}

// dir visits entries, the listing of p at depth, and descends into its
// subdirectories; ancestors are the fingerprints of the listings from
// the root down to p.
func (w *walker) dir(ctx context.Context, p string, entries []apiv1.DirEntry, depth int, ancestors [][sha256.Size]byte) error {
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/\x00") {
			w.log.Warn("skipping an entry whose name cannot be part of a path", "dir", p, "name", e.Name)
			continue
		}
		if w.entries >= w.maxEntries {
			if w.cut == nil {
				w.cut = fmt.Errorf("%w: stopped after %d entries (--max-entries)", errWalkLimit, w.maxEntries)
			}
			return nil
		}
		w.entries++
		child := path.Join(p, e.Name)
		if err := w.visit(fileEntry{Path: child, Name: e.Name, Size: e.Size, Dir: e.Dir, MTime: e.MTime}); err != nil {
			return err
		}
		if !e.Dir {
			continue
		}
		if depth+1 >= w.maxDepth {
			if !w.deepWarned {
				w.deepWarned = true
				w.log.Warn("not listing directories deeper than --max-depth", "max_depth", w.maxDepth, "first", child)
			}
			continue
		}
		sub, err := w.list(ctx, child)
		if err != nil {
			if !skippable(err) {
				return err
			}
			w.failed++
			w.log.Warn("cannot list directory", "dir", child, "err", err)
			continue
		}
		fp := fingerprint(sub)
		if slices.Contains(ancestors, fp) {
			w.log.Warn("not entering a directory that lists like one of its parents: a directory loop", "dir", child)
			continue
		}
		if err := w.dir(ctx, child, sub, depth+1, append(ancestors, fp)); err != nil {
			return err
		}
		if w.cut != nil && w.entries >= w.maxEntries {
			return nil
		}
	}
	return nil
}

// skippable: the server could read the volume but not this directory
// (damaged, vanished): the rest of the tree is still listed.
func skippable(err error) bool {
	var ae *agent.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != 401 && ae.Status != 403
}

// fingerprint identifies a listing: names, kinds, sizes and times.
func fingerprint(entries []apiv1.DirEntry) [sha256.Size]byte {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%q %t %d %d\n", e.Name, e.Dir, e.Size, e.MTime.UnixNano())
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// guestPath turns a path as a Windows user types it into the volume's
// "/"-separated form: backslashes are separators, a drive letter (C:) is
// the volume's root, and the result is clean and absolute.
func guestPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if len(p) >= 2 && p[1] == ':' && ('a' <= p[0]|0x20 && p[0]|0x20 <= 'z') {
		p = p[2:]
	}
	return path.Clean("/" + p)
}
