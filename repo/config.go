package repo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// ConfigMagic and ConfigVersion identify a repository config object.
// Version 1 is a plain repository, version 2 an encrypted one
// (encryption.go); both are read and written.
const (
	ConfigMagic   = "shadowvault-repository"
	ConfigVersion = 1
	// ConfigVersionEncrypted is the config version of an encrypted
	// repository: a server that knows only version 1 refuses it instead
	// of writing plaintext into it.
	ConfigVersionEncrypted = 2
)

var configHandle = backend.Handle{Type: backend.TypeConfig, Name: "config"}

// ErrNoRepository is returned when the backend holds no repository config.
var ErrNoRepository = errors.New("no repository")

// Config is a repository's fixed settings, written once at init.
type Config struct {
	Magic       string       `json:"magic"`
	Version     int          `json:"version"`
	ID          string       `json:"id"`
	Chunker     chunk.Params `json:"chunker,omitzero"`
	PackSize    int          `json:"pack_size"`
	Compression string       `json:"compression"`
	// Encryption is set in an encrypted repository (version 2). Its
	// chunker parameters are sealed in it and the Chunker above is zero in
	// the stored object: the polynomial would help to guess chunk
	// boundaries of known files.
	Encryption *Encryption `json:"encryption,omitempty"`
}

// MinPackSize is the smallest pack target a repository accepts.
const MinPackSize = 4 << 10

// NewConfig returns a config with defaults and a random polynomial.
func NewConfig() (Config, error) {
	p, err := chunk.DefaultParams()
	if err != nil {
		return Config{}, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Config{}, err
	}
	return Config{
		Magic: ConfigMagic, Version: ConfigVersion, ID: hex.EncodeToString(id),
		Chunker: p, PackSize: 16 << 20, Compression: "zstd",
	}, nil
}

// validate resolves what the version means and checks the values.
func (c Config) validate() error {
	if c.Magic != ConfigMagic {
		return fmt.Errorf("config: magic %q is not a shadowvault repository", c.Magic)
	}
	switch c.Version {
	case ConfigVersion:
		if c.Encryption != nil {
			return fmt.Errorf("config: version 1 with encryption settings")
		}
	case ConfigVersionEncrypted:
		if err := c.Encryption.validate(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("config: repository format version %d is not supported (this server knows 1 and 2)", c.Version)
	}
	// Tiny packs are allowed (a pack closes once it reaches the target, so
	// it always holds at least one chunk): tests use them to force many
	// packs and repacks.
	if c.PackSize < MinPackSize || c.PackSize > 256<<20 {
		return fmt.Errorf("config: pack size %d out of range", c.PackSize)
	}
	if c.Compression != "zstd" {
		return fmt.Errorf("config: compression %q not supported", c.Compression)
	}
	if c.Encryption != nil && c.Chunker == (chunk.Params{}) {
		return nil // sealed: checked once opened (openConfig)
	}
	return c.Chunker.Validate()
}

// InitConfig writes cfg as the repository config. It fails if one exists.
func InitConfig(ctx context.Context, be backend.Backend, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if _, err := be.Stat(ctx, configHandle); err == nil {
		return fmt.Errorf("init: a repository already exists here")
	} else if !errors.Is(err, backend.ErrNotFound) {
		return fmt.Errorf("init: %w", err)
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return be.Put(ctx, configHandle, bytes.NewReader(data), int64(len(data)))
}

// LoadConfig reads and checks the repository config.
func LoadConfig(ctx context.Context, be backend.Backend) (Config, error) {
	data, err := backend.ReadAll(ctx, be, configHandle)
	if errors.Is(err, backend.ErrNotFound) {
		return Config{}, ErrNoRepository
	}
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	return cfg, cfg.validate()
}
