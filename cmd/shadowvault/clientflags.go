package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/shadowvault/shadowvault/agent"
)

// defaultPort is the port serve listens on, and the one a --server
// given as a bare host name means.
const defaultPort = "8420"

// clientFlags are the flags of every verb that talks to a server. Unset,
// they come from the environment when used (so that -h never prints a
// token).
type clientFlags struct {
	server, token, caCert string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "the server: a `URL`, or HOST[:PORT] for http:// (https:// with --ca-cert; port 8420 if none) (SHADOWVAULT_SERVER; default http://127.0.0.1:8420)")
	fs.StringVar(&c.token, "token", "", "API `TOKEN`, or @FILE to read it from a file (SHADOWVAULT_TOKEN)")
	fs.StringVar(&c.caCert, "ca-cert", "", "trust the CA certificate in `FILE` (PEM) for an https server (SHADOWVAULT_CA_CERT)")
}

func (c *clientFlags) caCertFile() string {
	return firstSet(c.caCert, os.Getenv("SHADOWVAULT_CA_CERT"))
}

// serverURL is the server's base URL from --server or the environment.
func (c *clientFlags) serverURL() (string, error) {
	return parseServer(firstSet(c.server, os.Getenv("SHADOWVAULT_SERVER"), "http://127.0.0.1:"+defaultPort), c.caCertFile() != "")
}

// parseServer turns a --server value into a base URL. A value without a
// scheme is an address: http, or https when a CA certificate is given
// (the server is then expected to speak TLS), and port 8420 if it names
// none. Anything but an http(s) URL of a host, with at most a path, is a
// usage error saying what is wrong.
func parseServer(s string, tlsWanted bool) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		scheme := "http://"
		if tlsWanted {
			scheme = "https://"
		}
		host, _, _ := strings.Cut(s, "/")
		if _, _, err := net.SplitHostPort(host); err != nil && host != "" {
			s = strings.Replace(s, host, net.JoinHostPort(strings.Trim(host, "[]"), defaultPort), 1)
		}
		s = scheme + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", usageErrorf("--server %q: %v", s, errText(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return "", usageErrorf("--server %q: the scheme must be http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		return "", usageErrorf("--server %q: no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", usageErrorf("--server %q: want SCHEME://HOST[:PORT][/PATH], without user, query or fragment", s)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return "", usageErrorf("--server %q: bad port %q", s, p)
		}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// errText is an error's own text, without a *url.Error's operation.
func errText(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// client makes the API client; local problems (no token, a CA file that
// cannot be read) show here, before any request.
func (c *clientFlags) client() (*agent.Client, error) {
	server, err := c.serverURL()
	if err != nil {
		return nil, err
	}
	tok := firstSet(c.token, os.Getenv("SHADOWVAULT_TOKEN"))
	if path, ok := strings.CutPrefix(tok, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: token: %w", agent.ErrInput, err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, fmt.Errorf("%w: no token: pass --token or set SHADOWVAULT_TOKEN", errUsage)
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 16, ForceAttemptHTTP2: true}
	if ca := c.caCertFile(); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%w: --ca-cert: %w", agent.ErrInput, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --ca-cert: no certificate in %s", agent.ErrInput, ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &agent.Client{Server: server, Token: tok, HTTP: &http.Client{Transport: tr}}, nil
}

// start makes the client and a context that ends on SIGINT or SIGTERM.
func (c *clientFlags) start() (*agent.Client, context.Context, context.CancelFunc, error) {
	cl, err := c.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := signalContext()
	return cl, ctx, stop, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
