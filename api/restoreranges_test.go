package api_test

import (
	"bytes"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
)

// getRestore sends a restore request with extra headers and returns the
// answer and its body.
func getRestore(t *testing.T, s *testserver.Server, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestRestoreRangesEveryFormat: every format serves ranges that are the
// bytes of the whole file at those offsets, under one strong ETag that is
// the same on every request and differs between formats; If-None-Match
// gets 304 and an If-Range of another ETag the whole file.
func TestRestoreRangesEveryFormat(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := mixed(21, 5<<20+333)
	rc := backup(t, s, "HV01", "VM", writeDisk(t, t.TempDir(), "d0.raw", data))
	rnd := mrand.New(mrand.NewPCG(21, 1))
	tags := map[string]string{}
	for _, f := range []string{"raw", "original", "vhd", "vhdx"} {
		path := "/api/v1/snapshots/" + rc.Snapshot + "/disks/d0.raw?format=" + f
		resp, full := getRestore(t, s, path, nil)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || len(etag) < 3 || etag[0] != '"' {
			t.Fatalf("%s: %d, ETag %q", f, resp.StatusCode, etag)
		}
		if other, ok := tags[etag]; ok {
			t.Fatalf("%s and %s have the same ETag", f, other)
		}
		tags[etag] = f
		if f == "raw" && !bytes.Equal(full, data) {
			t.Fatal("raw restore differs")
		}
		resp, again := getRestore(t, s, path, nil)
		if resp.Header.Get("ETag") != etag || !bytes.Equal(again, full) {
			t.Fatalf("%s: a second restore differs (ETag %q, then %q)", f, etag, resp.Header.Get("ETag"))
		}
		for i := 0; i < 20; i++ {
			off := rnd.Int64N(int64(len(full)))
			n := 1 + rnd.Int64N(min(int64(len(full))-off, 3<<20))
			hdr := map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+n-1)}
			if i%2 == 1 {
				hdr["If-Range"] = etag
			}
			resp, part := getRestore(t, s, path, hdr)
			want := fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, len(full))
			if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != want || !bytes.Equal(part, full[off:off+n]) {
				t.Fatalf("%s range %s: %d %q, %d bytes", f, hdr["Range"], resp.StatusCode, resp.Header.Get("Content-Range"), len(part))
			}
		}
		resp, tail := getRestore(t, s, path, map[string]string{"Range": "bytes=-1000"})
		if resp.StatusCode != 206 || !bytes.Equal(tail, full[len(full)-1000:]) {
			t.Fatalf("%s suffix range: %d", f, resp.StatusCode)
		}
		if resp, body := getRestore(t, s, path, map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("%s If-None-Match: %d, %d bytes", f, resp.StatusCode, len(body))
		}
		resp, body := getRestore(t, s, path, map[string]string{"Range": "bytes=0-9", "If-Range": `"other"`})
		if resp.StatusCode != 200 || !bytes.Equal(body, full) {
			t.Fatalf("%s If-Range of another ETag: %d, %d bytes", f, resp.StatusCode, len(body))
		}
		if resp, _ := getRestore(t, s, path, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(full))}); resp.StatusCode != 416 {
			t.Fatalf("%s range past the end: %d", f, resp.StatusCode)
		}
	}
}
