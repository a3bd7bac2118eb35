package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
)

var (
	repairCmd = command{name: "repair", args: "index|versions", summary: "repair the repository"}

	repairIndexCmd = command{
		name:    "repair index",
		summary: "rebuild the index and the snapshot catalogue from the packs and manifests in the repository",
		about: `Without --server it opens the repository (--repo, --state, the --s3-* flags)
directly; the server must be stopped (it holds the index). With --server
it asks a running server to do it (admin token). Tokens and policies come
back from their copies in the repository; if none is left, a new admin
token is written to the state directory.
`,
	}
)

type repairOpts struct {
	cf              clientFlags
	repoPath, state string
	json            bool
}

func repairFlags() (*flag.FlagSet, *repairOpts) {
	fs := repairIndexCmd.flagSet()
	o := &repairOpts{}
	fs.StringVar(&o.repoPath, "repo", "./shadowvault-data", "the repository: a `DIR`, or s3://bucket/prefix")
	fs.StringVar(&o.state, "state", "", "`DIR` of the index and the server's secrets (default: the repository directory; ./shadowvault-state for S3)")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	o.cf.register(fs)
	registerS3Flags(fs)
	registerKeyFlags(fs, false)
	return fs, o
}

// cmdRepair runs `shadowvault repair index`.
func cmdRepair(args []string) int {
	sub, rest := subverb(args)
	if sub == "versions" {
		return cmdRepairVersions(rest)
	}
	if sub != "index" {
		return groupUsage(&repairCmd, sub)
	}
	fs, o := repairFlags()
	if pos := parseArgs(fs, rest); len(pos) != 0 {
		return fail(usageErrorf("repair index takes no arguments"))
	}
	online := false
	fs.Visit(func(f *flag.Flag) { online = online || f.Name == "server" })

	ctx, stop := signalContext()
	defer stop()
	if online {
		c, err := o.cf.client()
		if err != nil {
			return fail(err)
		}
		var raw json.RawMessage
		if err := c.Do(ctx, http.MethodPost, "/api/v1/repair/index", strings.NewReader(""), 0, &raw); err != nil {
			return fail(err)
		}
		if o.json {
			return printJSON(raw)
		}
		var st apiv1.RepairResult
		if err := json.Unmarshal(raw, &st); err != nil {
			return fail(err)
		}
		printRebuild(stdout, st)
		return exitOK
	}
	st, tokenFile, err := repairIndex(ctx, newLogger(slog.LevelWarn), o.repoPath, o.state)
	if err != nil {
		fmt.Fprintln(stderr, "shadowvault: repair index:", describe(err))
		if code := exitCode(err); code == exitInterrupted {
			return code
		}
		return exitFailure
	}
	if tokenFile != "" {
		slog.Warn("the index held no tokens: new admin token written (mode 0600); create agent tokens again", "file", tokenFile)
	}
	if o.json {
		return printJSON(st)
	}
	printRebuild(stdout, st)
	return exitOK
}

// repairIndex opens the repository at repoPath with the index in state and
// rebuilds the index from the backend. tokenFile names the admin token
// file it wrote when the index held no token, else "".
func repairIndex(ctx context.Context, log *slog.Logger, repoPath, state string) (res apiv1.RepairResult, tokenFile string, err error) {
	be, defaultState, err := openBackend(ctx, repoPath)
	if err != nil {
		return res, "", err
	}
	if state == "" {
		state = defaultState
	}
	if _, err := repo.LoadConfig(ctx, be); err != nil {
		return res, "", fmt.Errorf("%s: %w", repoPath, err)
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return res, "", err
	}
	master, err := masterKey(ctx, be, state)
	if err != nil {
		return res, "", err
	}
	idxPath := filepath.Join(state, "index.db")
	idx, err := index.Open(idxPath)
	if errors.Is(err, berrors.ErrTimeout) {
		return res, "", fmt.Errorf("the index %s is locked by another process: stop the server first, or ask it with `shadowvault repair index --server URL`", idxPath)
	}
	if err != nil {
		return res, "", fmt.Errorf("%w (if the file is damaged, move it aside and run repair again)", err)
	}
	defer idx.Close()
	key, err := receiptKeyForRepair(filepath.Join(state, "receipt.key"))
	if err != nil {
		return res, "", err
	}
	r, err := repo.Open(ctx, be, idx, repo.Options{Logger: log, ReceiptKey: key, MasterKey: master})
	if err != nil {
		return res, "", err
	}
	defer r.Close(context.WithoutCancel(ctx))
	st, err := r.RebuildIndex(ctx)
	if err != nil {
		return res, "", err
	}
	tokenFile = filepath.Join(state, "admin.token")
	created, err := ensureAdminAfterRebuild(r, tokenFile)
	if !created {
		tokenFile = ""
	}
	return api.RebuildResult(st), tokenFile, err
}

// receiptKeyForRepair reads the server's receipt key. A rebuild signs
// nothing: without a key file (a state directory lost with the server's
// disk) a throwaway key will do, and serve creates the real one later.
func receiptKeyForRepair(path string) (ed25519.PrivateKey, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(nil)
		return priv, err
	}
	return loadOrCreateKey(path)
}

// ensureAdminAfterRebuild creates an admin token in path when the index
// holds none (it was deleted or lost), replacing the stale token file,
// and says whether it did.
func ensureAdminAfterRebuild(r *repo.Repository, path string) (bool, error) {
	tokens := api.NewTokens(r)
	list, err := tokens.List()
	if err != nil || len(list) > 0 {
		return false, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	_, plain, err := tokens.Create(apiv1.RoleAdmin, "")
	if err != nil {
		return false, err
	}
	return true, writeSecret(path, []byte(plain+"\n"))
}

// printRebuild reports a rebuild, done here or by the server.
func printRebuild(out io.Writer, st apiv1.RepairResult) {
	fmt.Fprintf(out, "index rebuilt: %d packs (%s), %d chunks, %d snapshots in %.1fs\n",
		st.Packs, humanBytes(st.PackBytes), st.Chunks, st.Snapshots, st.Seconds)
	if st.Tokens > 0 || st.Policies > 0 {
		fmt.Fprintf(out, "restored from the repository: %d tokens, %d policies\n", st.Tokens, st.Policies)
	}
	for _, s := range st.Skipped {
		fmt.Fprintf(out, "skipped %s: %s\n", s.Object, s.Reason)
	}
}
