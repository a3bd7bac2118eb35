package s3

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Timeouts of the HTTP transport. They bound the phases where a dead or
// wedged server would otherwise hang a call; the body transfer itself is
// bounded by the caller's context.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 60 * time.Second
	idleConnTimeout       = 30 * time.Second
	keepAlive             = 30 * time.Second
)

// newTransport returns the HTTP transport for one backend: at most
// cfg.MaxConns connections to the server, idle or busy, and timeouts on
// every phase that waits for the server before the body flows.
func newTransport(cfg Config) *http.Transport {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxConnsPerHost:       cfg.MaxConns,
		MaxIdleConns:          cfg.MaxConns,
		MaxIdleConnsPerHost:   cfg.MaxConns,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// Objects are compressed or random already; asking for gzip
		// would only cost CPU and break ranged reads on some servers.
		DisableCompression: true,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, for tests
		},
	}
}
