package s3

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Defaults applied by Open to zero fields of Config.
const (
	DefaultMaxConns = 16
	// DefaultPartSize sends a 16 MiB pack in one PUT (measured faster on
	// loopback MinIO than parts in parallel); larger objects go multipart.
	// S3 requires at least 5 MiB per part.
	DefaultPartSize = 32 << 20
	// MinPartSize is the smallest part S3 accepts.
	MinPartSize = 5 << 20
)

// Config says where the repository lives and how to reach it.
type Config struct {
	// Endpoint is host[:port], or a URL whose scheme (http or https)
	// decides UseTLS.
	Endpoint string
	Bucket   string
	// Prefix is the key prefix of the repository inside the bucket,
	// without leading or trailing slashes. Empty means the bucket's root.
	Prefix    string
	Region    string
	AccessKey string
	SecretKey string
	UseTLS    bool
	// InsecureSkipVerify accepts any TLS certificate. For tests only.
	InsecureSkipVerify bool
	// CreateBucket creates a missing bucket in Open instead of failing.
	CreateBucket bool
	// MaxConns bounds the open connections to the server (default 16).
	MaxConns int
	// PartSize is the multipart part size in bytes (default 32 MiB, at
	// least 5 MiB). Objects up to this size go up in a single PUT.
	PartSize int64
	// Lock, when enabled, writes the objects a restore needs with an
	// Object Lock retention date (the bucket must have Object Lock on; a
	// bucket Open creates gets it).
	Lock backend.LockPolicy
	// Now is the clock retention dates are computed from (time.Now when
	// nil). For tests.
	Now func() time.Time
}

// ParseURL reads a repository location of the form s3://bucket/prefix into a
// Config with Bucket and Prefix set. The prefix may be empty.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Config{}, fmt.Errorf("s3 url %q: want s3://bucket/prefix", s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return Config{}, fmt.Errorf("s3 url %q: no bucket", s)
	}
	return Config{Bucket: bucket, Prefix: cleanPrefix(prefix)}, nil
}

// ConfigFromEnv returns cfg with its empty fields filled from the usual
// environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or
// MINIO_ACCESS_KEY and MINIO_SECRET_KEY), AWS_REGION or AWS_DEFAULT_REGION,
// and AWS_ENDPOINT_URL or S3_ENDPOINT. With no endpoint anywhere it chooses
// AWS S3 over TLS.
func ConfigFromEnv(cfg Config) Config {
	fill := func(field *string, names ...string) {
		for _, name := range names {
			if *field != "" {
				return
			}
			*field = os.Getenv(name)
		}
	}
	fill(&cfg.AccessKey, "AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY")
	fill(&cfg.SecretKey, "AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY")
	fill(&cfg.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	fill(&cfg.Endpoint, "AWS_ENDPOINT_URL", "S3_ENDPOINT")
	if cfg.Endpoint == "" {
		cfg.Endpoint = "https://s3.amazonaws.com"
	}
	return cfg
}

// resolved returns cfg with defaults applied and the endpoint reduced to
// host[:port], or an error for a config Open cannot use.
func (cfg Config) resolved() (Config, error) {
	if cfg.Bucket == "" {
		return cfg, errors.New("s3: no bucket")
	}
	if cfg.Endpoint == "" {
		return cfg, errors.New("s3: no endpoint (set Endpoint, AWS_ENDPOINT_URL or S3_ENDPOINT)")
	}
	if strings.Contains(cfg.Endpoint, "://") {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil {
			return cfg, fmt.Errorf("s3: endpoint: %w", err)
		}
		switch u.Scheme {
		case "http":
			cfg.UseTLS = false
		case "https":
			cfg.UseTLS = true
		default:
			return cfg, fmt.Errorf("s3: endpoint %q: scheme must be http or https", cfg.Endpoint)
		}
		if u.Path != "" && u.Path != "/" {
			return cfg, fmt.Errorf("s3: endpoint %q: must not have a path", cfg.Endpoint)
		}
		cfg.Endpoint = u.Host
	}
	cfg.Prefix = cleanPrefix(cfg.Prefix)
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.Lock.Enabled() {
		if _, err := backend.ParseLockMode(string(cfg.Lock.Mode)); err != nil {
			return cfg, fmt.Errorf("s3: object lock: %w", err)
		}
	}
	if cfg.PartSize < MinPartSize {
		return cfg, fmt.Errorf("s3: part size %d is below the S3 minimum of %d", cfg.PartSize, MinPartSize)
	}
	return cfg, nil
}

func cleanPrefix(p string) string { return strings.Trim(p, "/") }
