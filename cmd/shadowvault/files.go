package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// pathHelp describes the paths inside a volume, for ls, find and cat.
const pathHelp = `A PATH inside the volume may be written the Windows way (\Windows\win.ini,
C:\Windows: the drive letter stands for the volume) or with slashes; names
match without regard to case. The volume is the first NTFS partition of
the disk, or --part N (1 is the first partition).
`

// fsOpts are the flags of the verbs that read a volume of a snapshot disk.
type fsOpts struct {
	cf       clientFlags
	host, vm string
	part     int
}

func (o *fsOpts) register(fs *flag.FlagSet) {
	o.cf.register(fs)
	fs.IntVar(&o.part, "part", 0, "partition index `N` (default: the first NTFS partition)")
	fs.StringVar(&o.host, "host", "", "SNAPSHOT is of this `HOST` (for latest or a prefix)")
	fs.StringVar(&o.vm, "vm", "", "SNAPSHOT is of this `VM` (for latest or a prefix)")
}

// volume is a volume of a snapshot disk, as the fs API serves it.
type volume struct {
	c    *agent.Client
	base string // .../snapshots/{id}/disks/{name}/fs/{index}
}

// openVolume resolves the snapshot and finds the volume's API path.
func (o *fsOpts) openVolume(ctx context.Context, c *agent.Client, snapArg, disk string) (*volume, error) {
	snap, err := resolveSnapshot(ctx, c, snapArg, o.host, o.vm)
	if err != nil {
		return nil, err
	}
	base, err := fsBase(ctx, c, snap, disk, o.part)
	if err != nil {
		return nil, err
	}
	return &volume{c: c, base: base}, nil
}

// fsBase finds the API path of a partition, picking the first NTFS one
// when part is 0.
func fsBase(ctx context.Context, c *agent.Client, snap, disk string, part int) (string, error) {
	base := "/api/v1/snapshots/" + url.PathEscape(snap) + "/disks/" + url.PathEscape(disk) + "/fs"
	if part > 0 {
		return fmt.Sprintf("%s/%d", base, part), nil
	}
	var parts []apiv1.Partition
	if err := c.Do(ctx, http.MethodGet, base+"/", nil, 0, &parts); err != nil {
		return "", err
	}
	for _, p := range parts {
		if p.Type == "ntfs" {
			return fmt.Sprintf("%s/%d", base, p.Index), nil
		}
	}
	return "", fmt.Errorf("%w: disk %s of snapshot %s has no NTFS partition", errNoVolume, disk, snap)
}

// errNoVolume: the disk holds no volume to browse (exit 3, as the
// server's answer for a partition that is not NTFS).
var errNoVolume = errors.New("no volume to browse")

// list lists one directory: GET .../ls?path=.
func (v *volume) list(ctx context.Context, dir string) ([]apiv1.DirEntry, error) {
	var out apiv1.DirListing
	if err := v.c.Do(ctx, http.MethodGet, v.base+"/ls?path="+url.QueryEscape(dir), nil, 0, &out); err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// entryLine is a listed entry as ls and find print it: time, size, name.
func entryLine(e fileEntry, name string) string {
	mtime, size := "-", humanBytes(e.Size)
	if !e.MTime.IsZero() {
		mtime = e.MTime.Local().Format("2006-01-02 15:04")
	}
	if e.Dir {
		size, name = "-", name+"/"
	}
	return fmt.Sprintf("%-16s  %10s  %s", mtime, size, name)
}

var catCmd = command{
	name:    "cat",
	args:    "SNAPSHOT DISK PATH",
	summary: "write a file from inside a snapshot disk's NTFS volume to stdout or -o FILE",
	about: snapshotHelp + "\n" + pathHelp + "\n" + `The server reads only the chunks the file needs: no disk restore. -o
writes beside FILE first and keeps an existing FILE unless --force.
`,
}

type catOpts struct {
	fsOpts
	out   string
	force bool
}

func catFlags() (*flag.FlagSet, *catOpts) {
	fs := catCmd.flagSet()
	o := &catOpts{}
	o.register(fs)
	fs.StringVar(&o.out, "o", "", "write to this `FILE` (default: stdout); written beside it first, in place only once complete")
	fs.BoolVar(&o.force, "force", false, "replace the -o file if it exists")
	return fs, o
}

func cmdCat(args []string) int {
	fs, o := catFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 3 {
		return fail(usageErrorf("cat needs SNAPSHOT, DISK and PATH"))
	}
	if err := checkSnapshotArg(pos[0]); err != nil {
		return fail(err)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	out, err := openOutput(o.out, o.force)
	if err != nil {
		return fail(err)
	}
	defer out.abort()
	v, err := o.openVolume(ctx, c, pos[0], pos[1])
	if err != nil {
		return fail(err)
	}
	if _, err = c.Cat(ctx, v.base+"/cat?path="+url.QueryEscape(guestPath(pos[2])), out); err == nil {
		err = out.commit()
	}
	if err != nil {
		return fail(err)
	}
	return exitOK
}
