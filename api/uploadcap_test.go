package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// metric returns the line of /metrics that starts with name, or "".
func metric(t *testing.T, s *testserver.Server, name string) string {
	t.Helper()
	resp, err := httpGet(s, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	return ""
}

// TestUploadCap: with MaxUploads 2, a third disk upload while two stall is
// refused at once with 503 TOO_MANY_UPLOADS and Retry-After, and a slot
// frees when an upload ends.
func TestUploadCap(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	hs := httptest.NewServer(api.New(s.Repo, s.Tokens, api.Options{Logger: quiet, SpillDir: t.TempDir(), MaxUploads: 2}).Handler())
	defer hs.Close()
	s.URL = hs.URL
	id := openSession(t, s, "HV01", "VM1")
	put := func(name string, body io.Reader) (*http.Response, error) {
		req, _ := http.NewRequest("PUT", s.URL+"/api/v1/sessions/"+id+"/disks/"+name+"?format=raw", body)
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		return http.DefaultClient.Do(req)
	}
	var open []heldUpload
	for _, name := range []string{"a.raw", "b.raw"} {
		h := holdUpload(s.URL+"/api/v1/sessions/"+id+"/disks/"+name+"?format=raw", s.AdminToken)
		h.pw.Write(random(1 << 20)) // ... and then the body stalls
		open = append(open, h)
	}
	defer func() {
		for _, h := range open {
			h.pw.Close()
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, s, "shadowvault_uploads_in_flight") != "shadowvault_uploads_in_flight 2" {
		if time.Now().After(deadline) {
			t.Fatalf("in flight: %q", metric(t, s, "shadowvault_uploads_in_flight"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	start := time.Now()
	resp, err := put("c.raw", bytes.NewReader(random(1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(data), `"TOO_MANY_UPLOADS"`) {
		t.Fatalf("third upload: %d %s", resp.StatusCode, data)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		t.Fatal("no Retry-After")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refusal took %v: it must not queue", d)
	}
	if got := metric(t, s, "shadowvault_uploads_refused_total"); got != "shadowvault_uploads_refused_total 1" {
		t.Fatalf("refusals: %q", got)
	}

	// The first upload ends: its slot frees.
	open[0].pw.Close()
	select {
	case st := <-open[0].done:
		if st != http.StatusOK {
			t.Fatalf("first upload: %d", st)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("first upload did not end")
	}
	resp, err = put("c.raw", bytes.NewReader(random(1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload after a slot freed: %d %s", resp.StatusCode, data)
	}
	if got := metric(t, s, "shadowvault_uploads_in_flight"); got != "shadowvault_uploads_in_flight 1" {
		t.Fatalf("in flight after: %q", got)
	}
}
