package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// keyFlags say how an encrypted repository is opened, or how a new one is
// created.
var keyFlags struct {
	noEncryption   bool
	passphraseFile string
	keyFile        string
}

// registerKeyFlags adds the key flags of the verbs that open a repository
// directly (serve, repair index, init, key).
func registerKeyFlags(fs *flag.FlagSet, creating bool) {
	if creating {
		fs.BoolVar(&keyFlags.noEncryption, "no-encryption", false, "create a new repository unencrypted (recorded in its config; ignored for an existing one)")
	}
	fs.StringVar(&keyFlags.passphraseFile, "passphrase-file", "", "read the repository passphrase from `FILE` (or SHADOWVAULT_PASSPHRASE); needed when the state directory holds no master key")
	fs.StringVar(&keyFlags.keyFile, "key-file", "", "open the repository with the key `FILE` (a new repository: created there if missing, and added as a key slot)")
}

const (
	masterKeyFile  = "master.key"          // the unwrapped master key, cached in the state directory
	recoveryFile   = "recovery.passphrase" // a generated passphrase of a repository created without one
	passphraseEnv  = "SHADOWVAULT_PASSPHRASE"
	recoveryGroups = 8
)

// passphrase returns the operator's passphrase, nil if none was given.
func passphrase() ([]byte, error) {
	if keyFlags.passphraseFile != "" {
		b, err := os.ReadFile(keyFlags.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", keyFlags.passphraseFile)
		}
		return b, nil
	}
	if p := os.Getenv(passphraseEnv); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// initRepository creates the repository config in be: encrypted unless
// --no-encryption, with a passphrase slot (the operator's, or a generated
// one written to the state directory) and a key file slot with --key-file.
func initRepository(ctx context.Context, log *slog.Logger, be backend.Backend, repoPath, state string) error {
	cfg, err := repo.NewConfig()
	if err != nil {
		return err
	}
	if initPackSize > 0 {
		cfg.PackSize = initPackSize
	}
	if keyFlags.noEncryption {
		if err := repo.InitConfig(ctx, be, cfg); err != nil {
			return err
		}
		log.Info("created repository", "repo", repoPath, "id", cfg.ID, "encrypted", false)
		return nil
	}
	for _, f := range []string{masterKeyFile, recoveryFile} {
		if _, err := os.Stat(filepath.Join(state, f)); err == nil {
			return fmt.Errorf("the state directory %s holds the %s of another repository: give this new repository its own --state", state, f)
		}
	}
	master, err := crypt.NewMasterKey()
	if err != nil {
		return err
	}
	var slots []crypt.Slot
	pass, err := passphrase()
	if err != nil {
		return err
	}
	generated := pass == nil
	if generated {
		pass = recoveryPassphrase()
	}
	s, err := crypt.NewPassphraseSlot(master, pass, crypt.KDFParams{}, "initial passphrase")
	if err != nil {
		return err
	}
	slots = append(slots, s)
	if keyFlags.keyFile != "" {
		kf, err := readOrCreateKeyFile(keyFlags.keyFile)
		if err != nil {
			return err
		}
		s, err := crypt.NewKeyFileSlot(master, kf, "key file "+filepath.Base(keyFlags.keyFile))
		if err != nil {
			return err
		}
		slots = append(slots, s)
	}
	// The generated passphrase is on disk before the repository exists,
	// the cached master key only after: a crash in between leaves a
	// repository the recovery file opens (--passphrase-file).
	if generated {
		if err := writeSecret(filepath.Join(state, recoveryFile), append(pass, '\n')); err != nil {
			return fmt.Errorf("write the generated passphrase: %w", err)
		}
	}
	if err := repo.InitEncrypted(ctx, be, cfg, master, slots...); err != nil {
		return err
	}
	if err := cacheMasterKey(state, master); err != nil {
		return err
	}
	log.Info("created repository", "repo", repoPath, "id", cfg.ID, "encrypted", true, "key_slots", len(slots))
	if generated {
		log.Warn("the repository is encrypted with a generated passphrase: copy it somewhere safe, away from the server; without it (or a key file) a lost state directory means a lost repository",
			"file", filepath.Join(state, recoveryFile))
	}
	return nil
}

// recoveryPassphrase is 8 groups of 5 characters of a 31-letter alphabet
// without look-alikes: about 198 bits.
func recoveryPassphrase() []byte {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, recoveryGroups*5)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return []byte(out.String())
}

func readOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if b, err = crypt.NewKeyFile(); err != nil {
		return nil, err
	}
	return b, writeSecret(path, b)
}

// masterKey returns the key that opens the repository in be: nil for a
// plain one; else the one cached in the state directory, or the one the
// passphrase or key file unlocks (then cached).
func masterKey(ctx context.Context, be backend.Backend, state string) (*crypt.MasterKey, error) {
	cfg, err := repo.LoadConfig(ctx, be)
	if err != nil {
		return nil, err
	}
	if !cfg.Encrypted() {
		return nil, nil
	}
	cached := filepath.Join(state, masterKeyFile)
	if b, err := os.ReadFile(cached); err == nil {
		var m crypt.MasterKey
		if n, err := hex.Decode(m[:], bytes.TrimSpace(b)); err != nil || n != crypt.KeySize {
			return nil, fmt.Errorf("%s is not a master key", cached)
		}
		if err := repo.CheckMasterKey(ctx, be, m); err != nil {
			return nil, fmt.Errorf("%s: %w", cached, err)
		}
		return &m, nil
	}
	var secrets [][]byte
	if p, err := passphrase(); err != nil {
		return nil, err
	} else if p != nil {
		secrets = append(secrets, p)
	}
	if keyFlags.keyFile != "" {
		b, err := os.ReadFile(keyFlags.keyFile)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		secrets = append(secrets, b)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: give --passphrase-file, %s or --key-file (the state directory %s holds no master key)", repo.ErrLocked, passphraseEnv, state)
	}
	for _, s := range secrets {
		m, err := repo.Unlock(ctx, be, s)
		if err == nil {
			return &m, cacheMasterKey(state, m)
		}
		if !errors.Is(err, crypt.ErrWrongKey) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("open repository: %w", crypt.ErrWrongKey)
}

func cacheMasterKey(state string, m crypt.MasterKey) error {
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	err := writeSecret(filepath.Join(state, masterKeyFile), []byte(hex.EncodeToString(m[:])+"\n"))
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	return err
}

// insideDir reports whether path is dir or lies below it (both local).
func insideDir(path, dir string) bool {
	if strings.Contains(dir, "://") {
		return false
	}
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
