package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/sealed"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// CipherV1 names the encryption of version 2 repositories: sealed blobs of
// package crypt (AES-256-GCM under per-message keys derived with BLAKE3)
// and keyed-BLAKE3 chunk IDs.
const CipherV1 = "aes-256-gcm+blake3-kdf"

// Encryption is the encryption part of a config.
type Encryption struct {
	Cipher string `json:"cipher"`
	// Sealed is the sealed JSON of the repository's chunker parameters.
	Sealed []byte `json:"sealed"`
}

// Sentinel errors of encrypted repositories.
var (
	// ErrLocked: the repository is encrypted and no key was given.
	ErrLocked = errors.New("repository is encrypted: a passphrase or key file is needed")
	// ErrLastKeySlot: removing the slot would leave no way to open the
	// repository.
	ErrLastKeySlot = errors.New("refusing to remove the last key slot")
	// ErrKeySlotNotFound: no key slot has the given ID.
	ErrKeySlotNotFound = errors.New("no such key slot")
)

var configAAD = []byte("shadowvault config chunker parameters")

func (e *Encryption) validate() error {
	if e == nil || e.Cipher != CipherV1 || len(e.Sealed) == 0 {
		return fmt.Errorf("config: version 2 needs encryption %q", CipherV1)
	}
	return nil
}

// Encrypted reports whether the repository is encrypted.
func (c Config) Encrypted() bool { return c.Encryption != nil }

// InitEncrypted writes an encrypted repository: the key slots first, then
// the config (with its chunker parameters sealed under master), so that a
// config never exists without a slot that opens it.
func InitEncrypted(ctx context.Context, be backend.Backend, cfg Config, master crypt.MasterKey, slots ...crypt.Slot) error {
	if len(slots) == 0 {
		return errors.New("init: an encrypted repository needs at least one key slot")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	params, err := json.Marshal(cfg.Chunker)
	if err != nil {
		return err
	}
	sealedParams, err := crypt.Derive(master).Seal(nil, params, configAAD)
	if err != nil {
		return err
	}
	cfg.Version, cfg.Chunker = ConfigVersionEncrypted, chunk.Params{}
	cfg.Encryption = &Encryption{Cipher: CipherV1, Sealed: sealedParams}
	if _, err := be.Stat(ctx, configHandle); err == nil {
		return fmt.Errorf("init: a repository already exists here")
	}
	for _, s := range slots {
		if err := putSlot(ctx, be, s); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	return InitConfig(ctx, be, cfg)
}

// openConfig unseals the chunker parameters of an encrypted config: a
// wrong master key fails here, before anything is read or written.
func openConfig(cfg Config, keys *crypt.Keys) (Config, error) {
	params, err := keys.Open(nil, cfg.Encryption.Sealed, configAAD)
	if err != nil {
		return Config{}, fmt.Errorf("open repository: the master key does not open the config: %w", crypt.ErrWrongKey)
	}
	if err := json.Unmarshal(params, &cfg.Chunker); err != nil {
		return Config{}, fmt.Errorf("open repository: sealed chunker parameters: %w", err)
	}
	return cfg, cfg.Chunker.Validate()
}

// CheckMasterKey reports whether master opens the repository in be.
func CheckMasterKey(ctx context.Context, be backend.Backend, master crypt.MasterKey) error {
	cfg, err := LoadConfig(ctx, be)
	if err != nil {
		return err
	}
	if !cfg.Encrypted() {
		return nil
	}
	_, err = openConfig(cfg, crypt.Derive(master))
	return err
}

// encryptedAccess returns the backend wrapper and pack codec of an open
// repository: be itself and the plain codec when it is not encrypted.
func encryptedAccess(cfg Config, be backend.Backend, master *crypt.MasterKey) (Config, backend.Backend, pack.Codec, error) {
	if !cfg.Encrypted() {
		return cfg, be, pack.Codec{}, nil
	}
	if master == nil {
		return Config{}, nil, pack.Codec{}, ErrLocked
	}
	keys := crypt.Derive(*master)
	cfg, err := openConfig(cfg, keys)
	if err != nil {
		return Config{}, nil, pack.Codec{}, err
	}
	return cfg, sealed.New(be, keys), pack.Codec{Sealer: keys, IDs: chunk.KeyedHasher(keys.IDKey())}, nil
}

// Unlock finds the key slot that secret (a passphrase, or a key file's
// contents) opens and returns the master key; crypt.ErrWrongKey when none.
func Unlock(ctx context.Context, be backend.Backend, secret []byte) (crypt.MasterKey, error) {
	slots, err := KeySlots(ctx, be)
	if err != nil {
		return crypt.MasterKey{}, err
	}
	for _, s := range slots {
		if m, err := s.Unwrap(secret); err == nil {
			if err := CheckMasterKey(ctx, be, m); err != nil {
				return crypt.MasterKey{}, err
			}
			return m, nil
		}
	}
	return crypt.MasterKey{}, fmt.Errorf("unlock: %d key slots: %w", len(slots), crypt.ErrWrongKey)
}

// KeySlots lists the repository's key slots, oldest first. A slot that
// does not parse is skipped: it cannot open anything.
func KeySlots(ctx context.Context, be backend.Backend) ([]crypt.Slot, error) {
	var slots []crypt.Slot
	err := be.List(ctx, backend.TypeKeys, func(fi backend.ObjectInfo) error {
		data, err := backend.ReadAll(ctx, be, fi.Handle)
		if err != nil {
			return err
		}
		if s, err := crypt.ParseSlot(data); err == nil && s.ID == fi.Handle.Name {
			slots = append(slots, s)
		}
		return nil
	})
	sort.Slice(slots, func(i, j int) bool {
		if !slots[i].Created.Equal(slots[j].Created) {
			return slots[i].Created.Before(slots[j].Created)
		}
		return slots[i].ID < slots[j].ID
	})
	return slots, err
}

// AddKeySlot stores a new slot after checking that it opens to the
// repository's master key with secret.
func AddKeySlot(ctx context.Context, be backend.Backend, s crypt.Slot, secret []byte) error {
	m, err := s.Unwrap(secret)
	if err != nil {
		return err
	}
	if err := CheckMasterKey(ctx, be, m); err != nil {
		return err
	}
	return putSlot(ctx, be, s)
}

// RemoveKeySlot deletes a slot, refusing to delete the last one.
func RemoveKeySlot(ctx context.Context, be backend.Backend, id string) error {
	slots, err := KeySlots(ctx, be)
	if err != nil {
		return err
	}
	found := false
	for _, s := range slots {
		found = found || s.ID == id
	}
	if !found {
		return fmt.Errorf("key slot %q: %w", id, ErrKeySlotNotFound)
	}
	if len(slots) == 1 {
		return ErrLastKeySlot
	}
	return be.Remove(ctx, backend.Handle{Type: backend.TypeKeys, Name: id})
}

func putSlot(ctx context.Context, be backend.Backend, s crypt.Slot) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	h := backend.Handle{Type: backend.TypeKeys, Name: s.ID}
	return be.Put(ctx, h, bytes.NewReader(data), int64(len(data)))
}
