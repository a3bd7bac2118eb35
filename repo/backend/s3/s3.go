package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Backend stores a repository's objects in one bucket under one prefix.
// It is safe for concurrent use.
type Backend struct {
	cfg       Config // resolved: defaults applied, Endpoint is host[:port]
	client    *minio.Client
	core      minio.Core // the same client; GetObject without lazy reads
	transport *http.Transport
}

var _ backend.Backend = (*Backend)(nil)

// bucketName makes "bucket s3://b" read well in wrapped errors.
type bucketName string

func (b bucketName) String() string { return "bucket s3://" + string(b) }

// Open connects to the server in cfg and checks that the bucket exists. With
// cfg.CreateBucket it creates a missing bucket; otherwise a missing bucket is
// an error. Open makes one request, bounded by ctx.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.ensureBucket(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// newBackend builds the client without talking to the server.
func newBackend(cfg Config) (*Backend, error) {
	cfg, err := cfg.resolved()
	if err != nil {
		return nil, err
	}
	tr := newTransport(cfg)
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.UseTLS,
		Transport: tr,
		Region:    cfg.Region,
		// One attempt per call: package retry is the one layer that
		// decides about retries, with the caller's budget.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return &Backend{cfg: cfg, client: client, core: minio.Core{Client: client}, transport: tr}, nil
}

func (b *Backend) ensureBucket(ctx context.Context) error {
	bucket := bucketName(b.cfg.Bucket)
	ok, err := b.client.BucketExists(ctx, b.cfg.Bucket)
	if err != nil {
		return wrap(ctx, "open", bucket, err)
	}
	if ok {
		return b.checkLock(ctx)
	}
	if !b.cfg.CreateBucket {
		return fmt.Errorf("open %s at %s: the bucket does not exist (create it, or let shadowvault create it)", bucket, b.cfg.Endpoint)
	}
	err = b.client.MakeBucket(ctx, b.cfg.Bucket, minio.MakeBucketOptions{Region: b.cfg.Region, ObjectLocking: b.cfg.Lock.Enabled()})
	if err != nil {
		// Another process may have created it in the meantime.
		code := minio.ToErrorResponse(err).Code
		if code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return b.checkLock(ctx)
		}
		return wrap(ctx, "create", bucket, err)
	}
	return nil
}

// checkLock makes sure that a backend asked to lock has a bucket that can:
// without Object Lock on the bucket S3 would refuse every locked PUT.
func (b *Backend) checkLock(ctx context.Context) error {
	if !b.cfg.Lock.Enabled() {
		return nil
	}
	on, err := b.BucketLocks(ctx)
	if err != nil {
		return err
	}
	if !on {
		return fmt.Errorf("%w: %s has no Object Lock; it can only be turned on when the bucket is created (let shadowvault create a new bucket, or create one with object locking)", ErrNoObjectLock, bucketName(b.cfg.Bucket))
	}
	return nil
}

// BucketLocks reports whether the bucket has Object Lock on.
func (b *Backend) BucketLocks(ctx context.Context) (bool, error) {
	state, _, _, _, err := b.client.GetObjectLockConfig(ctx, b.cfg.Bucket)
	if err != nil && minio.ToErrorResponse(err).Code != "ObjectLockConfigurationNotFoundError" {
		return false, wrap(ctx, "object lock configuration of", bucketName(b.cfg.Bucket), err)
	}
	return state == "Enabled", nil
}

// ErrNoObjectLock is returned by Open when locking is asked for and the
// bucket cannot lock.
var ErrNoObjectLock = errors.New("the bucket cannot lock objects")

// Close releases the idle connections. Calls in flight are not affected;
// the Backend stays usable and opens new connections when needed.
func (b *Backend) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}

// Bucket is the bucket's name.
func (b *Backend) Bucket() string { return b.cfg.Bucket }

// String describes where the repository is, for logs.
func (b *Backend) String() string {
	return "s3://" + path.Join(b.cfg.Bucket, b.cfg.Prefix) + " at " + b.cfg.Endpoint
}

// key is the object key of h: <prefix>/<type>/<name>.
func (b *Backend) key(h backend.Handle) string {
	return path.Join(b.cfg.Prefix, string(h.Type), h.Name)
}

// dir is the key prefix of every object of type t, with a trailing slash.
func (b *Backend) dir(t backend.Type) string {
	return path.Join(b.cfg.Prefix, string(t)) + "/"
}
