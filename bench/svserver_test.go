//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// svServer is a `shadowvault serve` process on a local repository, with
// the index and secrets in a separate state directory.
type svServer struct {
	bin, dir string // dir holds repo/ and state/
	cmd      *exec.Cmd
	url      string
}

func (v *svServer) tokFile() string { return filepath.Join(v.dir, "state", "admin.token") }

// start starts the server and waits until it listens.
// SHADOWVAULT_BENCH_SERVE_ARGS adds flags (split at spaces), for example
// --no-encryption to measure an unencrypted repository.
func (v *svServer) start() error {
	args := []string{"serve", "--repo", filepath.Join(v.dir, "repo"), "--state", filepath.Join(v.dir, "state"),
		"--listen", "127.0.0.1:0", "--log-level", "info"}
	args = append(args, strings.Fields(os.Getenv("SHADOWVAULT_BENCH_SERVE_ARGS"))...)
	return v.launch(exec.Command(v.bin, args...))
}

// launch starts cmd, a serve command, as the server and waits until it
// listens.
func (v *svServer) launch(cmd *exec.Cmd) error {
	v.cmd = cmd
	stderr, err := v.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := v.cmd.Start(); err != nil {
		return err
	}
	u := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				u <- m[1]
			}
		}
	}()
	select {
	case v.url = <-u:
		return nil
	case <-time.After(30 * time.Second):
		v.stop()
		return fmt.Errorf("server %v did not start", cmd.Args[1:3])
	}
}

// stop stops the server (SIGTERM) and returns its CPU time and peak RSS.
func (v *svServer) stop() (cpu time.Duration, rssKiB int64) {
	if v.cmd == nil || v.cmd.Process == nil {
		return 0, 0
	}
	v.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { v.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		v.cmd.Process.Kill()
		<-done
	}
	if ru, ok := v.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu, rssKiB = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()), ru.Maxrss
	}
	v.cmd = nil
	return cpu, rssKiB
}

var hwmRE = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)

// now returns the running server's CPU time (user+sys, from /proc, in
// USER_HZ ticks of 10 ms) and peak RSS so far.
func (v *svServer) now() (cpu time.Duration, rssKiB int64, err error) {
	pid := v.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The fields after "(comm)": state is field 3, utime 14, stime 15.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %q", pid, stat)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	if m := hwmRE.FindSubmatch(status); m != nil {
		rssKiB, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, rssKiB, nil
}

// args is a client command line: verb, the server and the admin token,
// then more.
func (v *svServer) args(verb string, more ...string) []string {
	return append([]string{verb, "--server", v.url, "--token", "@" + v.tokFile()}, more...)
}

// diskRef names one disk of one snapshot.
type diskRef struct{ snapshot, disk string }

// waitDigests polls GET .../digests of each disk with the admin token
// until the server serves them (it computes them in the background right
// after a backup, or on this request), for at most timeout in all.
func (v *svServer) waitDigests(refs []diskRef, timeout time.Duration) error {
	tok, err := os.ReadFile(v.tokFile())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, r := range refs {
		u := v.url + "/api/v1/snapshots/" + url.PathEscape(r.snapshot) + "/disks/" + url.PathEscape(r.disk) + "/digests"
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
			resp, err := http.DefaultClient.Do(req)
			status := 0
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			if status == http.StatusOK {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("digests of %s/%s not served within %s (last: %d %v)", r.snapshot, r.disk, timeout, status, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
