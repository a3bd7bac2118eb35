package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"

	"github.com/shadowvault/shadowvault/nbd"
)

type nbdOpts struct {
	cf                     clientFlags
	listen, name, host, vm string
}

func nbdFlags() (*flag.FlagSet, *nbdOpts) {
	fs := nbdCommand.flagSet()
	o := &nbdOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:10809", "`ADDR` to serve NBD on; plain TCP without authentication: keep it on loopback or a trusted network")
	fs.StringVar(&o.name, "name", "", "export `NAME` (default: the disk name); a client that names no export gets this one too")
	fs.StringVar(&o.host, "host", "", "SNAPSHOT is of this `HOST` (for latest or a prefix)")
	fs.StringVar(&o.vm, "vm", "", "SNAPSHOT is of this `VM` (for latest or a prefix)")
	return fs, o
}

// cmdNBD serves a snapshot disk read-only over NBD, read in place from the
// server ("instant recovery"): qemu reads it, or boots it under a qcow2
// overlay that takes the writes, without a restore.
func cmdNBD(args []string) int {
	fs, o := nbdFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 2 {
		return fail(usageErrorf("nbd needs SNAPSHOT and DISK"))
	}
	if err := checkSnapshotArg(pos[0]); err != nil {
		return fail(err)
	}
	disk := pos[1]
	export := o.name
	if export == "" {
		export = disk
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	snapshot, err := resolveSnapshot(ctx, c, pos[0], o.host, o.vm)
	if err != nil {
		return fail(err)
	}
	d, err := c.OpenRemoteDisk(ctx, snapshot, disk)
	if err != nil {
		return fail(err)
	}
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := &nbd.Server{
		Exports: nbd.ExportList{{
			Name:        export,
			Description: fmt.Sprintf("shadowvault snapshot %s disk %s (read-only)", snapshot, disk),
			Size:        d.Size(),
			Data:        d,
		}},
		Logger: log,
	}
	u := url.URL{Scheme: "nbd", Host: l.Addr().String(), Path: "/" + export}
	log.Info("serving the snapshot disk read-only over NBD until interrupted", "url", u.String(),
		"snapshot", snapshot, "disk", disk, "bytes", d.Size())
	if err := srv.Serve(ctx, l); err != nil {
		return fail(err)
	}
	log.Info("nbd stopped")
	return exitOK
}
