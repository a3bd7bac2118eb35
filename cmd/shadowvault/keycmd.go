package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

var (
	initCmd = command{
		name:    "init",
		summary: "create a repository (encrypted unless --no-encryption); serve also creates one on first start",
		about: `The master key is wrapped by a passphrase (--passphrase-file or
SHADOWVAULT_PASSPHRASE; without one a passphrase is generated and written to
recovery.passphrase in the state directory) and, with --key-file, by a key
file. Keep one of them away from the server: with either, a lost state
directory loses nothing. See docs/ENCRYPTION.md.
`,
	}
	keyCmd       = command{name: "key", args: "list|add|remove", summary: "manage the key slots of an encrypted repository"}
	keyListCmd   = command{name: "key list", summary: "list the key slots of an encrypted repository (never a secret)"}
	keyAddCmd    = command{name: "key add", summary: "add a key slot: a new passphrase (--new-passphrase-file) or key file (--new-key-file)"}
	keyRemoveCmd = command{name: "key remove", args: "ID", summary: "remove a key slot; the last one is never removed"}
)

type repoOpts struct {
	repoPath, state string
	json            bool
}

func (o *repoOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.repoPath, "repo", "./shadowvault-data", "the repository: a `DIR`, or s3://bucket/prefix")
	fs.StringVar(&o.state, "state", "", "`DIR` of the index and the server's secrets (default: the repository directory; ./shadowvault-state for S3)")
	registerS3Flags(fs)
}

// open opens the repository's storage and fills in the default state
// directory.
func (o *repoOpts) open(ctx context.Context) (backend.Backend, error) {
	be, defaultState, err := openBackend(ctx, o.repoPath)
	if err != nil {
		return nil, err
	}
	if o.state == "" {
		o.state = defaultState
	}
	return be, nil
}

func initFlags() (*flag.FlagSet, *repoOpts) {
	fs := initCmd.flagSet()
	o := &repoOpts{}
	o.register(fs)
	fs.IntVar(&initPackSize, "init-pack-size", 0, "pack target size in `BYTES` (0: 16 MiB)")
	registerKeyFlags(fs, true)
	return fs, o
}

func keyListFlags() (*flag.FlagSet, *repoOpts) {
	fs := keyListCmd.flagSet()
	o := &repoOpts{}
	o.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

type keyAddOpts struct {
	repoOpts
	newPassphrase, newKeyFile, label string
}

func keyAddFlags() (*flag.FlagSet, *keyAddOpts) {
	fs := keyAddCmd.flagSet()
	o := &keyAddOpts{}
	o.register(fs)
	registerKeyFlags(fs, false)
	fs.StringVar(&o.newPassphrase, "new-passphrase-file", "", "the new passphrase, read from `FILE`")
	fs.StringVar(&o.newKeyFile, "new-key-file", "", "a new key `FILE` (created if missing)")
	fs.StringVar(&o.label, "label", "", "a `NOTE` kept with the slot: who holds it, where")
	return fs, o
}

func keyRemoveFlags() (*flag.FlagSet, *repoOpts) {
	fs := keyRemoveCmd.flagSet()
	o := &repoOpts{}
	o.register(fs)
	return fs, o
}

// cmdInit runs `shadowvault init`.
func cmdInit(args []string) int {
	fs, o := initFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("init takes no arguments"))
	}
	ctx, stop := signalContext()
	defer stop()
	be, err := o.open(ctx)
	if err != nil {
		return fail(err)
	}
	if _, err := repo.LoadConfig(ctx, be); err == nil {
		return fail(fmt.Errorf("init: %s already holds a repository", o.repoPath))
	}
	if err := os.MkdirAll(o.state, 0o700); err != nil {
		return fail(err)
	}
	if err := initRepository(ctx, newLogger(slog.LevelInfo), be, o.repoPath, o.state); err != nil {
		return fail(fmt.Errorf("init: %w", err))
	}
	return exitOK
}

// cmdKey runs `shadowvault key ...`. It works on the repository's storage
// directly; a running server need not stop.
func cmdKey(args []string) int {
	sub, rest := subverb(args)
	switch sub {
	case "list":
		return cmdKeyList(rest)
	case "add":
		return cmdKeyAdd(rest)
	case "remove":
		return cmdKeyRemove(rest)
	}
	return groupUsage(&keyCmd, sub)
}

func cmdKeyList(args []string) int {
	fs, o := keyListFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("key list takes no arguments"))
	}
	ctx, stop := signalContext()
	defer stop()
	be, err := o.open(ctx)
	if err != nil {
		return fail(err)
	}
	cfg, err := repo.LoadConfig(ctx, be)
	if err != nil {
		return fail(err)
	}
	if !cfg.Encrypted() {
		return fail(fmt.Errorf("%s is not encrypted: it has no key slots", o.repoPath))
	}
	slots, err := repo.KeySlots(ctx, be)
	if err != nil {
		return fail(err)
	}
	type row struct {
		ID      string         `json:"id"`
		Kind    crypt.SlotKind `json:"kind"`
		Label   string         `json:"label,omitempty"`
		Created time.Time      `json:"created"`
		KDF     string         `json:"kdf,omitempty"`
	}
	rows := make([]row, 0, len(slots))
	for _, s := range slots {
		r := row{ID: s.ID, Kind: s.Kind, Label: s.Label, Created: s.Created}
		if s.KDF != nil {
			r.KDF = fmt.Sprintf("%s t=%d m=%dMiB p=%d", s.KDF.Name, s.KDF.Time, s.KDF.MemoryKiB>>10, s.KDF.Threads)
		}
		rows = append(rows, r)
	}
	if o.json {
		return printJSON(rows)
	}
	t := newTable("ID", "KIND", "CREATED", "KDF", "LABEL")
	for _, r := range rows {
		t.row("%s\t%s\t%s\t%s\t%s", r.ID, r.Kind, r.Created.Format(time.RFC3339), r.KDF, r.Label)
	}
	t.end()
	return exitOK
}

func cmdKeyAdd(args []string) int {
	fs, o := keyAddFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("key add takes no arguments"))
	}
	if (o.newPassphrase == "") == (o.newKeyFile == "") {
		return fail(usageErrorf("key add needs one of --new-passphrase-file and --new-key-file"))
	}
	ctx, stop := signalContext()
	defer stop()
	be, err := o.open(ctx)
	if err != nil {
		return fail(err)
	}
	master, err := masterKey(ctx, be, o.state)
	if err != nil {
		return fail(err)
	}
	if master == nil {
		return fail(fmt.Errorf("%s is not encrypted", o.repoPath))
	}
	var slot crypt.Slot
	var secret []byte
	if o.newPassphrase != "" {
		b, err := os.ReadFile(o.newPassphrase)
		if err != nil {
			return fail(err)
		}
		if secret = bytes.TrimRight(b, "\r\n"); len(secret) == 0 {
			return fail(usageErrorf("the new passphrase file %s is empty", o.newPassphrase))
		}
		slot, err = crypt.NewPassphraseSlot(*master, secret, crypt.KDFParams{}, o.label)
		if err != nil {
			return fail(err)
		}
	} else {
		if secret, err = readOrCreateKeyFile(o.newKeyFile); err != nil {
			return fail(err)
		}
		if slot, err = crypt.NewKeyFileSlot(*master, secret, o.label); err != nil {
			return fail(err)
		}
	}
	if err := repo.AddKeySlot(ctx, be, slot, secret); err != nil {
		return fail(err)
	}
	printf("added key slot %s (%s)", slot.ID, slot.Kind)
	return exitOK
}

func cmdKeyRemove(args []string) int {
	fs, o := keyRemoveFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		return fail(usageErrorf("key remove needs the slot ID (see key list)"))
	}
	ctx, stop := signalContext()
	defer stop()
	be, err := o.open(ctx)
	if err != nil {
		return fail(err)
	}
	if err := repo.RemoveKeySlot(ctx, be, pos[0]); err != nil {
		return fail(err)
	}
	printf("removed key slot %s", pos[0])
	return exitOK
}
