package main

import (
	"flag"
	"log/slog"

	"github.com/shadowvault/shadowvault/agent"
)

var restoreCmd = command{
	name:    "restore",
	args:    "SNAPSHOT DISK",
	summary: "restore a disk of a snapshot, to stdout or to a file (-o)",
	about: snapshotHelp + "\n" + `DISK is the disk's name in the snapshot (the base name of the file backed
up). --format raw gives the virtual disk content, original the uploaded
file byte for byte, vhd or vhdx a new container of the content. -o writes
a temporary file beside FILE that replaces it only once complete and
fsynced; an existing FILE is kept unless --force. Zero blocks are left as
holes: the file is sparse.
`,
}

type restoreOpts struct {
	cf                    clientFlags
	format, out, host, vm string
	force                 bool
}

func restoreFlags() (*flag.FlagSet, *restoreOpts) {
	fs := restoreCmd.flagSet()
	o := &restoreOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.format, "format", "raw", "what to restore (`raw|original|vhd|vhdx`): the virtual disk content, the uploaded file byte for byte, or a new VHD or VHDX of the content")
	fs.StringVar(&o.out, "o", "", "output `FILE` (default: stdout); written beside it first, in place only once complete")
	fs.BoolVar(&o.force, "force", false, "replace the -o file if it exists")
	fs.StringVar(&o.host, "host", "", "SNAPSHOT is of this `HOST` (for latest or a prefix)")
	fs.StringVar(&o.vm, "vm", "", "SNAPSHOT is of this `VM` (for latest or a prefix)")
	return fs, o
}

func cmdRestore(args []string) int {
	fs, o := restoreFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 2 {
		return fail(usageErrorf("restore needs SNAPSHOT and DISK"))
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
	snap, err := resolveSnapshot(ctx, c, pos[0], o.host, o.vm)
	if err != nil {
		return fail(err)
	}
	p := &agent.Progress{}
	done := showProgress(p, "restore", true) // on stderr: also when the disk goes to stdout
	n, err := c.Restore(ctx, snap, pos[1], o.format, out, func(d, t int64) { p.Sent.Store(d); p.Total.Store(t) })
	done()
	if err == nil {
		err = out.commit()
	}
	if err != nil {
		return fail(err)
	}
	slog.Info("restore complete", "snapshot", snap, "disk", pos[1], "format", o.format, "bytes", n)
	return exitOK
}
