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

// cmdNBD serves a snapshot disk read-only over NBD, read in place from the
// server ("instant recovery"): qemu reads it, or boots it under a qcow2
// overlay that takes the writes, without a restore.
func cmdNBD(args []string) int {
	fs := flag.NewFlagSet("nbd", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	listen := fs.String("listen", "127.0.0.1:10809", "address to serve NBD on; plain TCP without authentication: keep it on loopback or a trusted network")
	name := fs.String("name", "", "export name (default: the disk name); a client that names no export gets this one too")
	pos := parseArgs(fs, args)
	if len(pos) != 2 {
		fmt.Fprintln(os.Stderr, "nbd needs SNAPSHOT and DISK")
		return exitUsage
	}
	snapshot, disk := pos[0], pos[1]
	export := *name
	if export == "" {
		export = disk
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	d, err := c.OpenRemoteDisk(ctx, snapshot, disk)
	if err != nil {
		return fail(err)
	}
	l, err := net.Listen("tcp", *listen)
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
