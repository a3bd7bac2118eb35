package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
)

func TestClassify(t *testing.T) {
	resp := func(code string, status int) error {
		return minio.ErrorResponse{Code: code, StatusCode: status, Message: "m"}
	}
	for _, c := range []struct {
		err  error
		want error
	}{
		{resp(minio.NoSuchKey, 404), backend.ErrNotFound},
		{resp("", 404), backend.ErrNotFound},
		{resp(minio.NoSuchBucket, 404), nil},
		{resp("InvalidRange", 416), backend.ErrInvalidRange},
		{resp("", 416), backend.ErrInvalidRange},
		{resp(minio.AccessDenied, 403), backend.ErrPermission},
		{resp("InvalidAccessKeyId", 403), backend.ErrPermission},
		{resp("SignatureDoesNotMatch", 403), backend.ErrPermission},
		{resp("", 403), backend.ErrPermission},
		{resp("InternalError", 500), backend.ErrTransient},
		{resp("SlowDown", 503), backend.ErrTransient},
		{resp("", 502), backend.ErrTransient},
		{resp("", 429), backend.ErrTransient},
		{resp("MalformedXML", 400), nil},
		{&url.Error{Op: "Put", URL: "u", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, backend.ErrTransient},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), backend.ErrTransient},
		{io.ErrUnexpectedEOF, backend.ErrTransient},
		{errors.New("Connection closed by foreign host http://x. Retry again."), backend.ErrTransient},
		{&url.Error{Op: "Get", URL: "u", Err: timeoutErr{}}, backend.ErrTransient},
		{context.DeadlineExceeded, backend.ErrTransient}, // not the caller's: wrap checks that
		{context.Canceled, nil},
		{errors.New("something else"), nil},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// timeoutErr is like net/http's response header timeout.
type timeoutErr struct{}

func (timeoutErr) Error() string        { return "net/http: timeout awaiting response headers" }
func (timeoutErr) Timeout() bool        { return true }
func (timeoutErr) Is(target error) bool { return target == context.DeadlineExceeded }

// wrap keeps the operation, the object, the sentinel and the original.
func TestWrap(t *testing.T) {
	h := backend.Handle{Type: backend.TypePack, Name: "ab"}
	orig := minio.ErrorResponse{Code: "InternalError", StatusCode: 500}
	err := wrap(context.Background(), "put", h, orig)
	var got minio.ErrorResponse
	if !errors.Is(err, backend.ErrTransient) || !errors.As(err, &got) || !strings.HasPrefix(err.Error(), "put packs/ab: ") {
		t.Fatalf("wrap = %q", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = wrap(ctx, "put", h, orig)
	if !errors.Is(err, context.Canceled) || errors.Is(err, backend.ErrTransient) {
		t.Fatalf("with a cancelled ctx: %q, want Canceled and not transient", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 0)
	defer cancel()
	err = wrap(ctx, "read", h, fmt.Errorf("get: %w", context.DeadlineExceeded))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, backend.ErrTransient) {
		t.Fatalf("with an expired ctx: %q, want DeadlineExceeded and not transient", err)
	}
}

// A wrong secret is a refusal, not a missing bucket and not transient.
func TestWrongSecret(t *testing.T) {
	cfg := serverConfig(t, shared)
	open(t, cfg) // creates the bucket
	cfg.SecretKey = "wrong-secret"
	cfg.CreateBucket = false
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, backend.ErrPermission) {
		t.Fatalf("open with a wrong secret: %v, want ErrPermission", err)
	}
	// Calls of a backend whose credentials stopped working fail the same way.
	b, err := newBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := backend.Handle{Type: backend.TypePack, Name: "x"}
	ctx := context.Background()
	if err := b.Put(ctx, h, bytes.NewReader([]byte("x")), 1); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("put: %v, want ErrPermission", err)
	}
	if _, err := b.Stat(ctx, h); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("stat: %v, want ErrPermission", err)
	}
	if _, err := b.ReadAt(ctx, h, make([]byte, 1), 0); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("read: %v, want ErrPermission", err)
	}
	if err := b.List(ctx, backend.TypePack, func(backend.ObjectInfo) error { return nil }); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("list: %v, want ErrPermission", err)
	}
}

func TestMissingBucket(t *testing.T) {
	cfg := serverConfig(t, shared)
	cfg.CreateBucket = false
	_, err := Open(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), cfg.Bucket) {
		t.Fatalf("open of a missing bucket: %v", err)
	}
	cfg.CreateBucket = true
	open(t, cfg)
	open(t, cfg) // existing bucket, CreateBucket or not
}

// The S3 error stays in the chain next to the sentinel.
func TestNotFoundAndRange(t *testing.T) {
	ctx := context.Background()
	b := open(t, serverConfig(t, shared))
	h := backend.Handle{Type: backend.TypePack, Name: "p"}
	_, err := b.ReadAt(ctx, h, make([]byte, 1), 0)
	var resp minio.ErrorResponse
	if !errors.Is(err, backend.ErrNotFound) || !errors.As(err, &resp) || resp.Code != minio.NoSuchKey {
		t.Fatalf("read missing: %v", err)
	}
	if _, err := b.Stat(ctx, h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
	if err := b.Put(ctx, h, bytes.NewReader([]byte("0123456789")), 10); err != nil {
		t.Fatal(err)
	}
	_, err = b.ReadAt(ctx, h, make([]byte, 1), 10) // the server answers 416
	if !errors.Is(err, backend.ErrInvalidRange) || !errors.As(err, &resp) {
		t.Fatalf("read at the end: %v, want ErrInvalidRange with the S3 error", err)
	}
	if _, err := b.ReadAt(ctx, h, make([]byte, 5), 8); !errors.Is(err, backend.ErrInvalidRange) {
		t.Fatalf("read across the end: %v", err) // the server answers 206 with 2 bytes
	}
	if _, err := b.ReadAt(ctx, h, nil, 11); !errors.Is(err, backend.ErrInvalidRange) {
		t.Fatalf("empty read past the end: %v", err)
	}
	if n, err := b.ReadAt(ctx, h, nil, 10); n != 0 || err != nil {
		t.Fatalf("empty read at the end: %d, %v", n, err)
	}
}
