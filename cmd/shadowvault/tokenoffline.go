package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
)

// createTokenOffline makes a token directly in the index of the state
// directory, with the server stopped: the way back in when the admin token
// is lost. It prints the token like `token create` does.
func createTokenOffline(state, role, host string) int {
	idxPath := filepath.Join(state, "index.db")
	if _, err := os.Stat(idxPath); err != nil {
		fmt.Fprintf(os.Stderr, "shadowvault: token create: no index at %s: %v\n", idxPath, err)
		return exitFailure
	}
	idx, err := index.Open(idxPath)
	if errors.Is(err, berrors.ErrTimeout) {
		fmt.Fprintf(os.Stderr, "shadowvault: token create: the index %s is locked by a running server: stop it first, or create the token through it (--server)\n", idxPath)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shadowvault: token create:", err)
		return exitFailure
	}
	defer idx.Close()
	tok, plain, err := api.NewTokens(idx).Create(apiv1.Role(role), host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shadowvault: token create:", err)
		return exitUsage
	}
	key := "(no receipt key in " + state + " yet)"
	if seed, err := os.ReadFile(filepath.Join(state, "receipt.key")); err == nil && len(seed) == ed25519.SeedSize {
		key = hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	}
	fmt.Printf("token:       %s\nid:          %s\nreceipt key: %s\n", plain, tok.ID, key)
	return exitOK
}
