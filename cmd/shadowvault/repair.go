package main

import (
	"context"
	"crypto/ed25519"
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

const repairUsage = `usage: shadowvault repair index [--repo PATH|s3://bucket/prefix] [--state DIR] [--s3-... flags]
       shadowvault repair index --server URL --token T

Rebuilds the index and the snapshot catalogue from the packs and manifests in
the repository. Without --server it opens the repository directly; the server
must be stopped (it holds the index). With --server it asks a running server
to do it (admin token).
`

// cmdRepair runs `shadowvault repair index`.
func cmdRepair(args []string) int {
	if len(args) == 0 || args[0] != "index" {
		fmt.Fprint(os.Stderr, repairUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("repair index", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, repairUsage); fs.PrintDefaults() }
	repoPath := fs.String("repo", "./shadowvault-data", "repository: a directory, or s3://bucket/prefix")
	state := fs.String("state", "", "directory of the index and the server's secrets (default: the repository directory; ./shadowvault-state for S3)")
	var cf clientFlags
	cf.register(fs)
	registerS3Flags(fs)
	_ = fs.Parse(args[1:])
	online := false
	fs.Visit(func(f *flag.Flag) { online = online || f.Name == "server" })

	ctx, stop := signalContext()
	defer stop()
	if online {
		c, err := cf.client()
		if err != nil {
			return fail(err)
		}
		var st apiv1.RepairResult
		if err := c.Do(ctx, http.MethodPost, "/api/v1/repair/index", strings.NewReader(""), 0, &st); err != nil {
			return fail(err)
		}
		printRebuild(os.Stdout, st)
		return exitOK
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := repairIndex(ctx, log, os.Stdout, *repoPath, *state); err != nil {
		fmt.Fprintln(os.Stderr, "shadowvault: repair index:", err)
		return exitFailure
	}
	return exitOK
}

// repairIndex opens the repository at repoPath with the index in state and
// rebuilds the index from the backend, reporting to out.
func repairIndex(ctx context.Context, log *slog.Logger, out io.Writer, repoPath, state string) error {
	be, defaultState, err := openBackend(ctx, repoPath)
	if err != nil {
		return err
	}
	if state == "" {
		state = defaultState
	}
	if _, err := repo.LoadConfig(ctx, be); err != nil {
		return fmt.Errorf("%s: %w", repoPath, err)
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	idxPath := filepath.Join(state, "index.db")
	idx, err := index.Open(idxPath)
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("the index %s is locked by another process: stop the server first, or ask it with `shadowvault repair index --server URL`", idxPath)
	}
	if err != nil {
		return fmt.Errorf("%w (if the file is damaged, move it aside and run repair again)", err)
	}
	defer idx.Close()
	key, err := receiptKeyForRepair(filepath.Join(state, "receipt.key"))
	if err != nil {
		return err
	}
	r, err := repo.Open(ctx, be, idx, repo.Options{Logger: log, ReceiptKey: key})
	if err != nil {
		return err
	}
	defer r.Close(context.WithoutCancel(ctx))
	st, err := r.RebuildIndex(ctx)
	if err != nil {
		return err
	}
	printRebuild(out, api.RebuildResult(st))
	return ensureAdminAfterRebuild(out, r, filepath.Join(state, "admin.token"))
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

// ensureAdminAfterRebuild creates an admin token when the index holds none
// (it was deleted or lost), replacing the stale token file.
func ensureAdminAfterRebuild(out io.Writer, r *repo.Repository, path string) error {
	tokens := api.NewTokens(r)
	list, err := tokens.List()
	if err != nil || len(list) > 0 {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	_, plain, err := tokens.Create(apiv1.RoleAdmin, "")
	if err != nil {
		return err
	}
	if err := writeSecret(path, []byte(plain+"\n")); err != nil {
		return err
	}
	fmt.Fprintf(out, "the index held no tokens: new admin token written to %s (mode 0600); create agent tokens again\n", path)
	return nil
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
