package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// rotateReceiptKey lets serve make a new receipt key for a repository that
// already holds signed snapshots (--rotate-receipt-key).
var rotateReceiptKey bool

// errStop ends a listing early.
var errStop = errors.New("stop")

// receiptKey loads the server's receipt key from path. A missing key is
// created only for a repository without snapshots, or when the operator
// asks for a rotation: agents pin the key, and a silently new one would
// make every one of them refuse its next receipt.
func receiptKey(ctx context.Context, be backend.Backend, path string) (ed25519.PrivateKey, error) {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return loadOrCreateKey(path)
	}
	signed := false
	err := be.List(ctx, backend.TypeSnapshot, func(backend.ObjectInfo) error {
		signed = true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("look for signed snapshots: %w", err)
	}
	if signed && !rotateReceiptKey {
		return nil, fmt.Errorf("the repository holds signed snapshots, but the receipt key %s is missing: "+
			"restore it from the backup of the state directory, or start once with --rotate-receipt-key "+
			"to sign new receipts with a new key (every agent must then pin the new key)", path)
	}
	return loadOrCreateKey(path)
}
