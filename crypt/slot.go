package crypt

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/argon2"
)

// SlotMagic and SlotVersion identify a key slot object.
const (
	SlotMagic   = "shadowvault-key-slot"
	SlotVersion = 1
)

// SlotKind says what unlocks a key slot.
type SlotKind string

// Slot kinds.
const (
	SlotPassphrase SlotKind = "passphrase"
	SlotKeyFile    SlotKind = "keyfile"
)

// KDFParams are the Argon2id parameters of a passphrase slot. They are
// stored in the slot, so a slot made with other parameters still opens.
type KDFParams struct {
	Name      string `json:"name"` // "argon2id"
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
}

// DefaultKDF is what new passphrase slots use: 64 MiB and 3 passes, about
// a quarter of a second on one core.
var DefaultKDF = KDFParams{Name: "argon2id", Time: 3, MemoryKiB: 64 << 10, Threads: 2}

// Bounds on the stored parameters, so a forged slot cannot make the server
// spend unbounded memory or time opening it.
const (
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	maxKDFTime      = 20
	minKeyFileSize  = 32
	maxKeyFileSize  = 1 << 16
)

// Slot is one wrapping of the master key, stored as a keys/ object.
type Slot struct {
	Magic   string     `json:"magic"`
	Version int        `json:"version"`
	ID      string     `json:"id"`
	Kind    SlotKind   `json:"kind"`
	Label   string     `json:"label,omitempty"`
	Created time.Time  `json:"created"`
	KDF     *KDFParams `json:"kdf,omitempty"` // passphrase slots only
	Wrapped []byte     `json:"wrapped"`       // the master key sealed under the slot's key
}

// NewPassphraseSlot wraps master under a key stretched from passphrase
// with params (DefaultKDF when zero) and a fresh salt.
func NewPassphraseSlot(master MasterKey, passphrase []byte, params KDFParams, label string) (Slot, error) {
	if len(passphrase) == 0 {
		return Slot{}, fmt.Errorf("key slot: empty passphrase: %w", ErrWrongKey)
	}
	if params.Name == "" {
		params = DefaultKDF
	}
	params.Salt = make([]byte, 16)
	if _, err := rand.Read(params.Salt); err != nil {
		return Slot{}, err
	}
	s := Slot{Kind: SlotPassphrase, KDF: &params, Label: label}
	kek, err := s.kek(passphrase)
	if err != nil {
		return Slot{}, err
	}
	return s.wrap(master, kek)
}

// NewKeyFileSlot wraps master under a key derived from the contents of a
// key file (at least 32 bytes, see NewKeyFile).
func NewKeyFileSlot(master MasterKey, keyFile []byte, label string) (Slot, error) {
	s := Slot{Kind: SlotKeyFile, Label: label}
	kek, err := s.kek(keyFile)
	if err != nil {
		return Slot{}, err
	}
	return s.wrap(master, kek)
}

// NewKeyFile returns fresh key file contents: 32 random bytes, hex encoded
// on one line so the file survives copy and paste.
func NewKeyFile() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b) + "\n"), nil
}

func (s Slot) wrap(master MasterKey, kek *Keys) (Slot, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return Slot{}, err
	}
	s.Magic, s.Version, s.ID, s.Created = SlotMagic, SlotVersion, hex.EncodeToString(id), time.Now().UTC().Truncate(time.Second)
	w, err := kek.Seal(nil, master[:], s.aad())
	if err != nil {
		return Slot{}, err
	}
	s.Wrapped = w
	return s, nil
}

// Unwrap returns the master key if secret (the passphrase, or the key
// file's contents) opens the slot; ErrWrongKey otherwise.
func (s Slot) Unwrap(secret []byte) (MasterKey, error) {
	if err := s.validate(); err != nil {
		return MasterKey{}, err
	}
	kek, err := s.kek(secret)
	if err != nil {
		return MasterKey{}, err
	}
	p, err := kek.Open(nil, s.Wrapped, s.aad())
	if err != nil || len(p) != KeySize {
		return MasterKey{}, fmt.Errorf("key slot %s: %w", s.ID, ErrWrongKey)
	}
	var m MasterKey
	copy(m[:], p)
	return m, nil
}

// aad binds the wrapped key to the slot's identity and parameters: a slot
// whose KDF parameters were lowered by someone with write access to the
// storage no longer opens.
func (s Slot) aad() []byte {
	b, _ := json.Marshal(struct {
		ID   string
		Kind SlotKind
		KDF  *KDFParams
	}{s.ID, s.Kind, s.KDF})
	return append([]byte("shadowvault key slot\x00"), b...)
}

// kek derives the slot's key-encryption key from secret.
func (s Slot) kek(secret []byte) (*Keys, error) {
	k := &Keys{}
	switch s.Kind {
	case SlotPassphrase:
		p := s.KDF
		if p == nil || p.Name != "argon2id" || p.Time == 0 || p.Time > maxKDFTime || p.MemoryKiB < 8 || p.MemoryKiB > maxKDFMemoryKiB || p.Threads == 0 || len(p.Salt) < 16 {
			return nil, fmt.Errorf("key slot: bad KDF parameters: %w", ErrFormat)
		}
		copy(k.data[:], argon2.IDKey(secret, p.Salt, p.Time, p.MemoryKiB, p.Threads, KeySize))
	case SlotKeyFile:
		if len(secret) < minKeyFileSize || len(secret) > maxKeyFileSize {
			return nil, fmt.Errorf("key slot: a key file holds %d to %d bytes: %w", minKeyFileSize, maxKeyFileSize, ErrWrongKey)
		}
		blake3.DeriveKey("shadowvault 2026-12 key file", secret, k.data[:])
	default:
		return nil, fmt.Errorf("key slot: kind %q: %w", s.Kind, ErrFormat)
	}
	return k, nil
}

func (s Slot) validate() error {
	if s.Magic != SlotMagic || s.Version != SlotVersion {
		return fmt.Errorf("key slot %s: magic %q version %d: %w", s.ID, s.Magic, s.Version, ErrFormat)
	}
	return nil
}

// ParseSlot decodes a stored key slot.
func ParseSlot(b []byte) (Slot, error) {
	var s Slot
	if err := json.Unmarshal(b, &s); err != nil {
		return Slot{}, fmt.Errorf("key slot: %v: %w", err, ErrFormat)
	}
	return s, s.validate()
}
