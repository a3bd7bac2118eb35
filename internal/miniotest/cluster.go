package miniotest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Cluster is MinIO in distributed mode: several processes, one drive
// each, erasure-coded across them, all serving the same buckets.
//
// MinIO refuses loopback endpoints when it believes it runs in a container
// (/.dockerenv): it waits for them to "resolve to a valid IP". There the
// cluster listens on the machine's first non-loopback IPv4 address, still
// on this machine only; elsewhere on 127.0.0.1.
type Cluster struct {
	Endpoints []string // host:port of each process, for s3.Config.Endpoint
	AccessKey string
	SecretKey string

	bin  string
	dir  string
	args []string // the drives, the same for every process

	mu    sync.Mutex // guards procs
	procs []*proc
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// StartCluster starts an n-process distributed MinIO for t and stops it
// when t ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := NewCluster(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// NewCluster starts an n-process distributed MinIO that lives until Close.
func NewCluster(n int) (*Cluster, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	host, err := clusterHost()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "miniocluster-")
	if err != nil {
		return nil, fmt.Errorf("miniotest: %w", err)
	}
	c := &Cluster{AccessKey: "shadowvault", SecretKey: randomHex(16), bin: bin, dir: dir, procs: make([]*proc, n)}
	for i := range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("miniotest: %w", err)
		}
		c.Endpoints = append(c.Endpoints, l.Addr().String())
		l.Close()
		c.args = append(c.args, "http://"+l.Addr().String()+filepath.Join(dir, fmt.Sprintf("drive%d", i+1)))
	}
	for i := range n {
		if err := c.startProc(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	// Every process answers once the erasure sets formed.
	for i := range n {
		if err := waitReady("http://"+c.Endpoints[i], c.procs[i].exited); err != nil {
			logs, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("minio-%d-1.log", i+1)))
			c.Close()
			return nil, fmt.Errorf("miniotest: distributed minio process %d: %w\n%s", i+1, err, tail(logs, 2000))
		}
	}
	return c, nil
}

// clusterHost is the address the processes listen on (see Cluster).
func clusterHost() (string, error) {
	if _, err := os.Stat("/.dockerenv"); errors.Is(err, os.ErrNotExist) {
		return "127.0.0.1", nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("miniotest: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
			return ip.IP.String(), nil
		}
	}
	return "", errors.New("miniotest: distributed MinIO in a container needs a non-loopback IPv4 address, and there is none")
}

func (c *Cluster) startProc(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[i]
	if p == nil {
		p = &proc{}
		c.procs[i] = p
	}
	p.starts++
	logFile, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("minio-%d-%d.log", i+1, p.starts)))
	if err != nil {
		return fmt.Errorf("miniotest: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(c.bin, append([]string{"server", "--quiet", "--address", c.Endpoints[i]}, c.args...)...)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+c.AccessKey, "MINIO_ROOT_PASSWORD="+c.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=on")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("miniotest: start %s: %w", c.bin, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.exited)
	return nil
}

// Kill kills process i, as a crash would; the others go on serving.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.procs[i]; p != nil && p.cmd != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.cmd = nil
	}
}

// Restart starts process i again with its drive.
func (c *Cluster) Restart(i int) error {
	c.Kill(i)
	if err := c.startProc(i); err != nil {
		return err
	}
	return waitReady("http://"+c.Endpoints[i], c.procs[i].exited)
}

// Close kills every process and removes the drives.
func (c *Cluster) Close() {
	for i := range c.procs {
		c.Kill(i)
	}
	os.RemoveAll(c.dir)
}

// String names the cluster's endpoints.
func (c *Cluster) String() string { return "minio cluster " + strings.Join(c.Endpoints, ",") }
