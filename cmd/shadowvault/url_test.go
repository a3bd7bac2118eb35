package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// qemuImg runs qemu-img and returns its output. A run that does not end
// in 20 s is retried, twice at most: qemu 7.2's curl driver was seen to
// stall about once in 30 converts, over http and https, HTTP/1.1 and
// HTTP/2 alike, with every request answered and the server idle.
func qemuImg(t *testing.T, args ...string) (string, error) {
	t.Helper()
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		out, err := exec.CommandContext(ctx, "qemu-img", args...).CombinedOutput()
		stalled := ctx.Err() != nil
		cancel()
		if !stalled {
			return string(out), err
		}
		if try == 3 {
			return string(out), fmt.Errorf("qemu-img %v stalled %d times", args, try)
		}
		t.Logf("qemu-img stalled (try %d), again", try)
	}
}

// signedURL runs `shadowvault url --json` and returns the link.
func signedURL(t *testing.T, s *server, env []string, args ...string) (apiv1.LinkCreated, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"url", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"SHADOWVAULT_SERVER=" + s.url, "SHADOWVAULT_TOKEN=" + s.token}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("url %v: %v\n%s", args, err, stderr.String())
	}
	var out struct {
		apiv1.LinkCreated
		URL string `json:"url"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("url --json: %v\n%s", err, stdout.String())
	}
	return out.LinkCreated, out.URL
}

// qemuSource names a URL for qemu-img: plain for http, and through the
// json: syntax for https with a test CA that qemu's curl driver cannot be
// given.
func qemuSource(u string) string {
	if !strings.HasPrefix(u, "https://") {
		return u
	}
	b, _ := json.Marshal(map[string]any{"file.driver": "https", "file.url": u, "file.sslverify": false})
	return "json:" + string(b)
}

// TestQemuReadsSignedURL: qemu-img reads a snapshot disk over http and
// https with a signed URL from `shadowvault url`: info, convert and compare
// give the original content; an expired URL, a URL of another disk and a
// made-up one are refused; the secret is never logged.
func TestQemuReadsSignedURL(t *testing.T) {
	vhdtest.Need(t, "qemu-img")
	if testing.Short() {
		// The race pass: qemu's curl driver stalls now and then on its
		// own (see qemuImg), and more often against a server slowed down
		// by the race detector; the full pass runs this test.
		t.Skip("qemu over HTTP runs in the full pass, not with -short")
	}
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			dir := t.TempDir()
			var env []string
			var s *server
			if scheme == "https" {
				ca, cert, key := writeCert(t, dir)
				s = startServerArgs(t, dir, "--tls-cert", cert, "--tls-key", key)
				env = []string{"SHADOWVAULT_CA_CERT=" + ca}
			} else {
				s = startServer(t, dir)
				env = []string{"SHADOWVAULT_CA_CERT="}
			}
			raw := filepath.Join(dir, "disk.raw")
			data := randomFile(t, raw, 8<<20)
			img := vhdtest.Convert(t, raw, "vhdx")
			name := filepath.Base(img)
			other := filepath.Join(dir, "other.raw")
			randomFile(t, other, 1<<20)
			cmd := exec.Command(binary, "backup", "--host", "HV01", "--vm", "VM1", img, other)
			cmd.Env = append(os.Environ(), append([]string{"SHADOWVAULT_SERVER=" + s.url, "SHADOWVAULT_TOKEN=" + s.token}, env...)...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("backup: %v", err)
			}
			var rc apiv1.Receipt
			if err := json.Unmarshal(out, &rc); err != nil {
				t.Fatal(err)
			}

			l, u := signedURL(t, s, env, "--expires", "10m", rc.Snapshot, name)
			if !strings.HasPrefix(u, scheme+"://") {
				t.Fatalf("url %s", u)
			}
			info, err := qemuImg(t, "info", "-f", "raw", "--output", "json", qemuSource(u))
			if err != nil || !strings.Contains(info, `"virtual-size": 8388608`) {
				t.Fatalf("qemu-img info: %v\n%s", err, info)
			}
			got := filepath.Join(dir, "got.raw")
			if msg, err := qemuImg(t, "convert", "-f", "raw", "-O", "raw", qemuSource(u), got); err != nil {
				t.Fatalf("qemu-img convert: %v\n%s", err, msg)
			}
			b, _ := os.ReadFile(got)
			if !bytes.Equal(b, data) {
				t.Fatal("qemu-img convert over the signed URL differs from the disk")
			}
			if msg, err := qemuImg(t, "compare", "-f", "raw", "-F", "vhdx", qemuSource(u), img); err != nil {
				t.Fatalf("qemu-img compare: %v\n%s", err, msg)
			}

			// The VHDX of the snapshot, read by qemu's vhdx driver by ranges.
			_, vu := signedURL(t, s, env, "--format", "vhdx", rc.Snapshot, name)
			if msg, err := qemuImg(t, "compare", "-f", "vhdx", "-F", "vhdx", qemuSource(vu), img); err != nil {
				t.Fatalf("qemu-img compare of the vhdx URL: %v\n%s", err, msg)
			}
			info, err = qemuImg(t, "info", "-f", "vhdx", "--output", "json", qemuSource(vu))
			if err != nil || !strings.Contains(info, `"virtual-size": 8388608`) {
				t.Fatalf("qemu-img info of the vhdx URL: %v\n%s", err, info)
			}

			// Refused: a URL of another disk, a made-up secret, an
			// expired URL.
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
			status := func(u string) int {
				resp, err := hc.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if st := status(strings.Replace(u, "/disks/"+name, "/disks/other.raw", 1)); st != 403 {
				t.Errorf("the URL on another disk: %d, want 403", st)
			}
			sig := u[strings.Index(u, "sig=")+4:]
			forged := sig[:len(sig)-2] + "00"
			if forged == sig {
				forged = sig[:len(sig)-2] + "11"
			}
			if st := status(strings.Replace(u, sig, forged, 1)); st != 401 {
				t.Errorf("a made-up secret: %d, want 401", st)
			}
			short, su := signedURL(t, s, env, "--expires", "1s", rc.Snapshot, name)
			time.Sleep(time.Until(short.Expires) + 100*time.Millisecond)
			if st := status(su); st != 401 {
				t.Errorf("an expired URL: %d, want 401", st)
			}
			if _, err := qemuImg(t, "info", "-f", "raw", qemuSource(su)); err == nil {
				t.Error("qemu-img read an expired URL")
			}

			s.kill()
			if strings.Contains(s.logs.String(), sig) {
				t.Fatal("the signed URL's secret is in the server log")
			}
			if l.Format != "raw" || l.Disk != name {
				t.Errorf("link %+v", l.Link)
			}
		})
	}
}

// insecureTLS trusts any server: the test only reads status codes.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // test of status codes
