package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds how long a start or restart may take.
const readyTimeout = 60 * time.Second

// Server is one MinIO process listening on 127.0.0.1.
type Server struct {
	Endpoint  string // host:port, for s3.Config.Endpoint (plain HTTP)
	AccessKey string
	SecretKey string
	DataDir   string // the storage, kept across Stop and Restart

	bin  string
	logs string     // directory of the per-start log files
	tb   testing.TB // set by Start; Restart fails it

	mu     sync.Mutex // guards the fields below
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	starts int
}

// Start starts a MinIO server for the test t and stops it, removing its data,
// when t ends. Without the minio binary it fails the test with the command
// that builds it.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s.tb = t
	t.Cleanup(s.Close)
	return s
}

// New starts a MinIO server that lives until Close, for use from TestMain,
// where there is no testing.T.
func New() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "miniotest-")
	if err != nil {
		return nil, fmt.Errorf("miniotest: %w", err)
	}
	s := &Server{
		AccessKey: "shadowvault",
		SecretKey: randomHex(16),
		DataDir:   filepath.Join(dir, "data"),
		bin:       bin,
		logs:      dir,
	}
	// Another process may take the free port between our probe and
	// minio's listen; a second try with a new port settles that.
	for attempt := 0; ; attempt++ {
		s.Endpoint, err = freePort()
		if err == nil {
			err = s.start()
		}
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Endpoint }

// Stop kills the server, as a crash or a pulled cable would. Data written
// before stays in DataDir. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts the server again on the same port with the same data,
// after killing it if it still runs, and waits until it is ready. If MinIO
// does not come back it fails the test of Start (call Restart from that
// test's goroutine), or panics for a server from New: tests cannot go on.
func (s *Server) Restart() {
	s.Stop()
	if err := s.start(); err != nil {
		if s.tb != nil {
			s.tb.Helper()
			s.tb.Fatal(err)
		}
		panic(err)
	}
}

// Close stops the server and removes its data and logs.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.logs)
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// start runs minio and waits until it answers /minio/health/ready.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	logPath := filepath.Join(s.logs, fmt.Sprintf("minio-%d.log", s.starts))
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("miniotest: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(s.bin, "server", "--quiet", "--address", s.Endpoint, s.DataDir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=on",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("miniotest: start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := waitReady(s.URL(), exited); err != nil {
		s.stopLocked()
		logs, _ := os.ReadFile(logPath)
		return fmt.Errorf("miniotest: minio on %s: %w\n%s", s.Endpoint, err, tail(logs, 2000))
	}
	return nil
}

// waitReady polls the readiness endpoint, then the cluster health endpoint
// (which answers 200 only once the object layer serves requests), until
// both answer 200, the process exits or readyTimeout passes.
func waitReady(base string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	probe := func(path string) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for {
		if probe("/minio/health/ready") && probe("/minio/health/cluster") {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v", readyTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort returns a 127.0.0.1 address nobody listens on right now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("miniotest: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randomHex(n int) string {
	p := make([]byte, n)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

func tail(p []byte, n int) []byte {
	if len(p) > n {
		p = p[len(p)-n:]
	}
	return bytes.TrimSpace(p)
}

// RunShared starts one MinIO server for a whole test binary, stores it in
// *shared, runs the tests and stops the server. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(miniotest.RunShared(m, &shared)) }
func RunShared(m *testing.M, shared **Server) int {
	s, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*shared = s
	defer s.Close()
	return m.Run()
}
