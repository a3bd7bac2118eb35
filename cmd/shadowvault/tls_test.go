package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a CA and a server certificate for 127.0.0.1 signed by it.
func writeCert(t *testing.T, dir string) (caPath, certPath, keyPath string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shadowvault test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	caPath, certPath, keyPath = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCert(t, dir)
	s := startServerArgs(t, dir, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("server URL %s is not https", s.url)
	}
	disk := filepath.Join(dir, "d.raw")
	randomFile(t, disk, 2<<20)
	if code := run(t, s, "backup", "--ca-cert", ca, "--host", "HV01", "--vm", "VM1", disk); code != 0 {
		t.Fatalf("backup over TLS with the CA exited %d", code)
	}
	if code := run(t, s, "backup", "--host", "HV01", "--vm", "VM1", disk); code != exitNetwork {
		t.Fatalf("backup over TLS without trusting the CA exited %d, want %d", code, exitNetwork)
	}
	// An address without a scheme is https:// with --ca-cert.
	if _, errOut, code := cli(t, s, "", "snapshots", "--ca-cert", ca, "--server", strings.TrimPrefix(s.url, "https://")); code != 0 {
		t.Fatalf("snapshots --ca-cert --server HOST:PORT exited %d:\n%s", code, errOut)
	}
	if _, errOut, _ := cli(t, s, "", "snapshots"); !strings.Contains(errOut, "--ca-cert") {
		t.Fatalf("an unknown CA does not say what to do:\n%s", errOut)
	}
}

// TestSlowHeaders: a client that dribbles its headers is disconnected.
func TestSlowHeaders(t *testing.T) {
	dir := t.TempDir()
	s := startServerArgs(t, dir, "--header-timeout", "500ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	// Either an error response or a closed connection: the server ends it.
	_, _ = bufio.NewReader(conn).ReadString('\n')
	if time.Since(start) > 5*time.Second {
		t.Fatalf("server held a slow client for %v", time.Since(start))
	}
	// The server still answers others.
	if code := run(t, s, "snapshots"); code != 0 {
		t.Fatalf("snapshots after a slow client exited %d", code)
	}
}

func startServerArgs(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	serverArgs = extra
	defer func() { serverArgs = nil }()
	return startServer(t, dir)
}
