package compat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shadowvaultBin is the shadowvault command built by TestMain from cmd/shadowvault.
var shadowvaultBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shadowvault-compat-")
	if err != nil {
		panic(err)
	}
	shadowvaultBin = filepath.Join(dir, "shadowvault")
	build := exec.Command("go", "build", "-o", shadowvaultBin, "github.com/shadowvault/shadowvault/cmd/shadowvault")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build shadowvault: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the binary with args and returns its exit code, stdout and
// stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(shadowvaultBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return 0, stdout.String(), stderr.String()
}

// mustCLI runs the binary and fails the test unless it exits 0.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("shadowvault %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

var tokenRE = regexp.MustCompile(`token:\s+(svt_\S+)`)

// offlineAdminToken makes an admin token in the index of state with
// `token create --state`, the server stopped.
func offlineAdminToken(t *testing.T, state string) string {
	t.Helper()
	out := mustCLI(t, "token", "create", "--role", "admin", "--state", state)
	m := tokenRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("token create printed no token:\n%s", out)
	}
	return m[1]
}

// server is a `shadowvault serve` process on a repository and state
// directory, and an HTTP client for it.
type server struct {
	cmd   *exec.Cmd
	URL   string
	Token string
	mu    sync.Mutex
	logs  bytes.Buffer
	exit  chan struct{}
}

var listenRE = regexp.MustCompile(`listen=(https?://[0-9.:]+)`)

// startServer serves repoDir with the index and secrets in state, on a
// free port; it is killed when the test ends, unless stopped before.
func startServer(t *testing.T, repoDir, state, token string) *server {
	t.Helper()
	s := &server{Token: token, exit: make(chan struct{})}
	s.cmd = exec.Command(shadowvaultBin, "serve", "--repo", repoDir, "--state", state, "--listen", "127.0.0.1:0")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		defer close(s.exit)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		s.cmd.Wait()
	}()
	select {
	case s.URL = <-found:
	case <-s.exit:
		t.Fatalf("shadowvault serve exited:\n%s", s.log())
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Fatalf("shadowvault serve did not start:\n%s", s.log())
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exit
		if t.Failed() {
			t.Logf("server log:\n%s", s.log())
		}
	})
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// stop shuts the server down gracefully (SIGTERM) and waits for it.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(60 * time.Second):
		t.Fatalf("shadowvault serve did not stop:\n%s", s.log())
	}
	if !s.cmd.ProcessState.Success() {
		t.Fatalf("shadowvault serve stopped with %v:\n%s", s.cmd.ProcessState, s.log())
	}
}

// do sends a request with the server's token. body may be nil, []byte, a
// string or any JSON value.
func (s *server) do(t *testing.T, method, path string, body any) *http.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// call sends a request and returns the status and the whole body.
func (s *server) call(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	resp := s.do(t, method, path, body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// mustJSON sends a request, requires a 2xx answer and returns its JSON
// body as raw JSON.
func (s *server) mustJSON(t *testing.T, method, path string, body any) json.RawMessage {
	t.Helper()
	code, b := s.call(t, method, path, body)
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	if !json.Valid(b) {
		t.Fatalf("%s %s: answer is not JSON: %.200q", method, path, b)
	}
	return b
}

// copyTree copies the regular files under src to dst, creating dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
