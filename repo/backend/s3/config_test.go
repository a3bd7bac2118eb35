package s3

import (
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in, bucket, prefix string
		bad                bool
	}{
		{in: "s3://bucket/prefix", bucket: "bucket", prefix: "prefix"},
		{in: "s3://bucket/a/b/", bucket: "bucket", prefix: "a/b"},
		{in: "s3://bucket", bucket: "bucket"},
		{in: "s3://bucket/", bucket: "bucket"},
		{in: "s3:///prefix", bad: true},
		{in: "/local/path", bad: true},
		{in: "http://bucket/prefix", bad: true},
	} {
		cfg, err := ParseURL(c.in)
		if (err != nil) != c.bad || cfg.Bucket != c.bucket || cfg.Prefix != c.prefix {
			t.Errorf("ParseURL(%q) = %+v, %v", c.in, cfg, err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "S3_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"} {
		t.Setenv(k, "")
	}
	if cfg := ConfigFromEnv(Config{}); cfg.Endpoint != "https://s3.amazonaws.com" {
		t.Errorf("no environment: endpoint %q, want AWS", cfg.Endpoint)
	}
	t.Setenv("MINIO_ACCESS_KEY", "minio-ak")
	t.Setenv("MINIO_SECRET_KEY", "minio-sk")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	t.Setenv("S3_ENDPOINT", "http://127.0.0.1:9000")
	cfg := ConfigFromEnv(Config{Bucket: "b"})
	if cfg.AccessKey != "minio-ak" || cfg.SecretKey != "minio-sk" || cfg.Region != "eu-west-1" || cfg.Endpoint != "http://127.0.0.1:9000" || cfg.Bucket != "b" {
		t.Errorf("MINIO_*/fallbacks: %+v", cfg)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "aws-ak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-sk")
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_ENDPOINT_URL", "https://s3.example.com")
	cfg = ConfigFromEnv(Config{})
	if cfg.AccessKey != "aws-ak" || cfg.SecretKey != "aws-sk" || cfg.Region != "us-west-2" || cfg.Endpoint != "https://s3.example.com" {
		t.Errorf("AWS_* first: %+v", cfg)
	}
	cfg = ConfigFromEnv(Config{AccessKey: "given", Endpoint: "host:1"})
	if cfg.AccessKey != "given" || cfg.Endpoint != "host:1" || cfg.SecretKey != "aws-sk" {
		t.Errorf("given fields must win: %+v", cfg)
	}
}

func TestResolved(t *testing.T) {
	cfg, err := Config{Endpoint: "https://minio.lan:9000", Bucket: "b", Prefix: "/p/"}.resolved()
	if err != nil || cfg.Endpoint != "minio.lan:9000" || !cfg.UseTLS || cfg.Prefix != "p" ||
		cfg.MaxConns != DefaultMaxConns || cfg.PartSize != DefaultPartSize {
		t.Errorf("resolved = %+v, %v", cfg, err)
	}
	cfg, err = Config{Endpoint: "http://minio.lan", Bucket: "b", UseTLS: true}.resolved()
	if err != nil || cfg.UseTLS {
		t.Errorf("http:// must turn TLS off: %+v, %v", cfg, err)
	}
	for _, bad := range []Config{
		{Endpoint: "h"},
		{Bucket: "b"},
		{Endpoint: "ftp://h", Bucket: "b"},
		{Endpoint: "http://h/path", Bucket: "b"},
		{Endpoint: "h", Bucket: "b", PartSize: 1 << 20},
	} {
		if _, err := bad.resolved(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// The transport bounds connections and has timeouts on every waiting phase.
func TestTransport(t *testing.T) {
	b, err := newBackend(Config{Endpoint: "127.0.0.1:1", Bucket: "b", MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	tr := b.transport
	if tr.MaxConnsPerHost != 3 || tr.MaxIdleConnsPerHost != 3 {
		t.Errorf("conns per host %d, idle %d; want 3", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
	}
	if tr.ResponseHeaderTimeout == 0 || tr.TLSHandshakeTimeout == 0 || tr.IdleConnTimeout == 0 || tr.DialContext == nil {
		t.Errorf("transport without timeouts: %+v", tr)
	}
}
