package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		tls  bool
		want string
	}{
		{"127.0.0.1:8420", false, "http://127.0.0.1:8420"},
		{"127.0.0.1:8420", true, "https://127.0.0.1:8420"},
		{"backup01", false, "http://backup01:8420"},
		{"backup01.example.com:443", true, "https://backup01.example.com:443"},
		{"[::1]:9000", false, "http://[::1]:9000"},
		{"[::1]", false, "http://[::1]:8420"},
		{"::1", false, "http://[::1]:8420"},
		{"http://127.0.0.1:8420/", false, "http://127.0.0.1:8420"},
		{"https://vault.example.com", false, "https://vault.example.com"},
		{"HTTP://127.0.0.1:8420", false, "http://127.0.0.1:8420"},
		{"https://proxy.example.com/shadowvault/", false, "https://proxy.example.com/shadowvault"},
		{" 127.0.0.1:8420 ", false, "http://127.0.0.1:8420"},
	} {
		got, err := parseServer(tc.in, tc.tls)
		if err != nil || got != tc.want {
			t.Errorf("parseServer(%q, %v) = %q, %v; want %q", tc.in, tc.tls, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://", "http://[::1", "127.0.0.1:99999", "http://u:p@h:1", "h:1?x=1", "http://h:1/#f"} {
		got, err := parseServer(bad, false)
		if !errors.Is(err, errUsage) || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--server") {
			t.Errorf("parseServer(%q) = %q, %v; want a usage error", bad, got, err)
		}
	}
}

// TestServerFlag: --server takes an address without a scheme; a server
// that is not there is one line saying so (exit 4); a bad --server is a
// usage error before anything is sent.
func TestServerFlag(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	addr := strings.TrimPrefix(s.url, "http://")
	if out, _, code := cli(t, s, "", "snapshots", "--server", addr); code != 0 || !strings.HasPrefix(out, "ID ") {
		t.Fatalf("--server %s: exit %d:\n%s", addr, code, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, verb := range [][]string{{"snapshots"}, {"restore", "latest", "d.raw"}, {"stats"}} {
		cmd := exec.Command(binary, append(verb, "--server", closed)...)
		cmd.Env = append(os.Environ(), "SHADOWVAULT_TOKEN="+s.token)
		out, err := cmd.CombinedOutput()
		ee, _ := err.(*exec.ExitError)
		want := "shadowvault: server not reachable at http://" + closed + ": connection refused\n"
		if ee == nil || ee.ExitCode() != exitNetwork || string(out) != want {
			t.Errorf("%v against a closed port: %v\n%q\nwant %q", verb, err, out, want)
		}
	}
	// backup says the same, before any upload.
	disk := dir + "/d.raw"
	randomFile(t, disk, 1<<20)
	_, errOut, code := cli(t, s, "", "backup", "--host", "HV01", "--vm", "VM1", "--server", closed, disk)
	if code != exitNetwork || strings.Count(errOut, "connection refused") != 1 || !strings.HasSuffix(errOut, "shadowvault: server not reachable at http://"+closed+": connection refused\n") {
		t.Errorf("backup against a closed port: exit %d:\n%s", code, errOut)
	}
	if _, errOut, code := cli(t, s, "", "snapshots", "--server", "ftp://"+addr); code != exitUsage || !strings.Contains(errOut, "http:// or https://") {
		t.Errorf("an ftp:// server: exit %d:\n%s", code, errOut)
	}
}
