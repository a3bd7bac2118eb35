package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/receipt"
)

var backupCmd = command{
	name:    "backup",
	args:    "--host H --vm NAME DISK...",
	summary: "back up the disks of a VM, then verify the signed receipt",
	about: `DISK is a disk file: VHDX, VHD or raw (detected, or --format); its base
name is the disk's name in the snapshot. Every disk is checked (it exists,
is a regular file, can be read) before a session is opened. The backup
exits 0 only once the server's receipt verifies (its Ed25519 signature,
the BLAKE3 of each disk sent), and prints the receipt (JSON) on stdout.
Pin the server's key with --receipt-key; without it the agent fetches it
and says so in the log.
`,
}

type backupOpts struct {
	cf                                      clientFlags
	key, host, vm, typ, consistency, format string
	writers, writerDoc, base, changed       string
	schedule                                string
	parallel, retries                       int
	hints, excludeFree, vss, incremental    bool
}

func backupFlags() (*flag.FlagSet, *backupOpts) {
	fs := backupCmd.flagSet()
	o := &backupOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.key, "receipt-key", "", "pinned receipt `KEY`, hex (SHADOWVAULT_RECEIPT_KEY)")
	fs.StringVar(&o.host, "host", "", "Hyper-V `HOST` name")
	fs.StringVar(&o.vm, "vm", "", "`VM` name")
	fs.StringVar(&o.typ, "type", "full", "`full|copy`: full lets the guests truncate their logs (with application consistency), copy never")
	fs.StringVar(&o.consistency, "consistency", "", "`application|crash`: application when VSS writers prepared the guest; default: application with --vss, else crash")
	fs.StringVar(&o.format, "format", "", "force the disk format, `raw|vhd|vhdx` (default: detect)")
	fs.StringVar(&o.writers, "writers", "", "VSS writer metadata to record with the snapshot (a `JSON` array)")
	fs.StringVar(&o.writerDoc, "writer-metadata", "", "`FILE` with the VSS writer metadata document (diskshadow's .cab) to keep with the snapshot")
	fs.IntVar(&o.parallel, "parallel", 2, "disks streamed at once (`N`)")
	fs.IntVar(&o.retries, "retries", 2, "extra attempts (`N`) for a failed disk upload")
	fs.BoolVar(&o.hints, "guest-hints", true, "read each disk's NTFS volumes and send file boundaries (better dedup)")
	fs.BoolVar(&o.excludeFree, "exclude-free", false, "also send free space, page and hibernation files: stored as zeros (smaller; deleted data is not kept)")
	fs.BoolVar(&o.vss, "vss", false, "Windows: take a VSS backup with diskshadow (Hyper-V writer) and upload from the shadow copies")
	fs.BoolVar(&o.incremental, "incremental", false, "send only what changed since a base snapshot of this host and VM (a synthetic full is stored); a disk without a base goes up whole")
	fs.StringVar(&o.base, "base", "", "with --incremental: the base `SNAPSHOT` (default: the newest holding each disk)")
	fs.StringVar(&o.changed, "changed-ranges", "", "with --incremental: a JSON `FILE` [{\"offset\":N,\"length\":N}] of the ranges that changed (default: compare block digests)")
	fs.StringVar(&o.schedule, "schedule", "", "the server's `SCHEDULE` this backup runs for (set by `agent run`)")
	return fs, o
}

func cmdBackup(args []string) int {
	fs, o := backupFlags()
	disks := parseArgs(fs, args)
	switch {
	case o.host == "" || o.vm == "" || len(disks) == 0:
		return fail(usageErrorf("backup needs --host, --vm and at least one disk"))
	case !o.incremental && (o.base != "" || o.changed != ""):
		return fail(usageErrorf("backup: --base and --changed-ranges need --incremental"))
	case o.changed != "" && len(disks) != 1:
		return fail(usageErrorf("backup: --changed-ranges describes one disk: back up one disk with it"))
	case o.writers != "" && !json.Valid([]byte(o.writers)):
		return fail(usageErrorf("backup: --writers is not JSON"))
	}
	backupType, err := receipt.ParseBackupType(o.typ)
	if err != nil {
		return fail(usageErrorf("backup: --type %q: want full or copy", o.typ))
	}
	cons, err := backupConsistency(o.vss, o.consistency)
	if err != nil {
		return fail(fmt.Errorf("%w: backup: %w", errUsage, err))
	}
	key := firstSet(o.key, os.Getenv("SHADOWVAULT_RECEIPT_KEY"))
	if o.vss {
		return backupVSS(o, backupType, key, disks)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	p := &agent.Progress{}
	log := slog.Default()
	done := showProgress(p, "backup", true)
	rc, err := agent.Backup(ctx, c, agent.BackupOptions{
		Host: o.host, VM: o.vm, Type: backupType, Consistency: cons, Disks: disks, Format: o.format,
		ReceiptKey: key, Parallel: o.parallel, Retries: o.retries, Progress: p, Log: log,
		Writers: writersJSON(o.writers), WriterMetadata: o.writerDoc,
		GuestHints: o.hints, ExcludeFree: o.excludeFree, Incremental: o.incremental, Base: o.base, ChangedRanges: o.changed,
		Schedule: o.schedule,
	})
	done()
	if err != nil {
		return fail(err)
	}
	if rc.ImmutableUntil.IsZero() {
		log.Info("backup complete: receipt verified", "snapshot", rc.Snapshot, "truncate_logs", rc.TruncateLogs)
	} else {
		log.Info("backup complete: receipt verified", "snapshot", rc.Snapshot, "truncate_logs", rc.TruncateLogs,
			"immutable_until", rc.ImmutableUntil)
	}
	return printJSON(rc)
}

// backupVSS runs the backup inside a VSS backup (Windows): the upload step
// that diskshadow runs repeats the flags; the token stays in the
// environment (SHADOWVAULT_TOKEN), never in the script.
func backupVSS(o *backupOpts, typ apiv1.BackupType, key string, disks []string) int {
	server, err := o.cf.serverURL()
	if err != nil {
		return fail(err)
	}
	if o.cf.token != "" && os.Getenv("SHADOWVAULT_TOKEN") == "" {
		os.Setenv("SHADOWVAULT_TOKEN", o.cf.token)
	}
	return runVSS(o.vm, typ, disks, vssUploadArgs(vssUpload{
		server: server, caCert: o.cf.caCertFile(), key: key, host: o.host, vm: o.vm, typ: typ, format: o.format,
		parallel: o.parallel, retries: o.retries, hints: o.hints, excludeFree: o.excludeFree,
		incremental: o.incremental, base: o.base, changed: o.changed, schedule: o.schedule,
	}))
}

// backupConsistency is the consistency the agent asks for. With --vss the
// VSS writers (through the Hyper-V writer, the guest's) prepare the guest:
// application. Without, nothing did: crash, unless the caller froze the
// guest itself and says so with --consistency application. --vss with
// crash is refused: diskshadow tells the writers a full backup succeeded,
// which a crash-consistent snapshot record would contradict.
func backupConsistency(vss bool, flag string) (apiv1.Consistency, error) {
	switch {
	case flag == "" && vss:
		return apiv1.ConsistencyApplication, nil
	case flag == "":
		return apiv1.ConsistencyCrash, nil
	}
	c, err := receipt.ParseConsistency(flag)
	switch {
	case err != nil:
		return "", fmt.Errorf("--consistency %q: want application or crash", flag)
	case vss && c == apiv1.ConsistencyCrash:
		return "", errors.New("--vss runs the VSS writers, so the backup is application-consistent: --consistency crash cannot be used with --vss")
	}
	return c, nil
}

// writersJSON is the --writers value (checked to be JSON), nil for none.
func writersJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}
