package torture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildBinary builds cmd/shadowvault into dir, from the module root.
func buildBinary(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the module")
	}
	bin := filepath.Join(dir, "shadowvault")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/shadowvault")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/shadowvault: %w\n%s", err, out)
	}
	return bin, nil
}

// server is the real shadowvault serve process, started and killed again
// and again on one repository. Its stdout and stderr go to logPath.
type server struct {
	bin, repoDir, logPath string
	// stateDir is --state (empty: the repository directory holds it);
	// args are more serve flags and env more environment variables (an
	// S3 repository's).
	stateDir  string
	args, env []string
	packSize  int
	addr      string
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has been waited for
	killed    bool          // the test killed or stopped it
	starts    int
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start starts the server and waits until /healthz answers 200. If the
// process dies before (the port was taken meanwhile, say), it tries again
// on another port.
func (s *server) start() error {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if s.addr == "" || attempt > 0 {
			a, err := freeAddr()
			if err != nil {
				return err
			}
			s.addr = a
		}
		if last = s.startOnce(); last == nil {
			return nil
		}
	}
	return last
}

func (s *server) startOnce() error {
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	s.starts++
	fmt.Fprintf(logf, "=== torture: start #%d on %s at %s\n", s.starts, s.addr, time.Now().Format(time.RFC3339Nano))
	args := []string{"serve", "--repo", s.repoDir, "--listen", s.addr,
		"--session-lease", "1m", "--init-pack-size", strconv.Itoa(s.packSize), "--memory-limit", "512"}
	if s.stateDir != "" {
		args = append(args, "--state", s.stateDir)
	}
	cmd := exec.Command(s.bin, append(args, s.args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited, s.killed = cmd, make(chan struct{}), false
	go func(c *exec.Cmd, done chan struct{}) {
		_ = c.Wait()
		close(done)
	}(cmd, s.exited)
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("server exited during start-up: %v", cmd.ProcessState)
		default:
		}
		resp, err := hc.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.kill()
	return errors.New("server did not answer /healthz within 60s")
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill is kill -9: SIGKILL, then wait for the process.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	s.killed = true
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// stop asks for a clean shutdown (SIGTERM) and waits up to d, then kills.
// It reports whether the server stopped by itself.
func (s *server) stop(d time.Duration) bool {
	if !s.alive() {
		return false
	}
	s.killed = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return true
	case <-time.After(d):
		s.kill()
		return false
	}
}

func (s *server) url() string { return "http://" + s.addr }

// adminToken reads the token the first start wrote.
func (s *server) adminToken() (string, error) {
	dir := s.repoDir
	if s.stateDir != "" {
		dir = s.stateDir
	}
	b, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	return strings.TrimSpace(string(b)), err
}

// tail returns the last n lines of the server log.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	defer f.Close()
	var ring []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		ring = append(ring, sc.Text())
		if len(ring) > n {
			ring = ring[1:]
		}
	}
	return strings.Join(ring, "\n")
}

// ctxSleep sleeps for d or until ctx ends.
func ctxSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
