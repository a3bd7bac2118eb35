package api_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/wire.golden")

// TestWireGolden sends a scripted run of requests, one or more to every
// route, and compares each answer (status, content type and body, byte for
// byte) with testdata/wire.golden, which the server of commit c8e4d3b
// wrote: the bodies clients decode never change. Since then, on purpose:
// GET /api/v1/jobs answers the job history under "jobs" and the
// maintenance status under "maintenance", and a repair says how many jobs
// it brought back ("jobs_restored"). Random values (ids,
// tokens, keys, signatures) and wall-clock times are replaced by
// placeholders; everything else, hashes and sizes included, is exact.
func TestWireGolden(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).Unix())
	tick := func() { clock.Add(60) }
	s := testserver.Start(t, testserver.Options{Now: func() time.Time { return time.Unix(clock.Load(), 0).UTC() }})
	var log bytes.Buffer
	srv := s
	do := func(method, path, token string, body []byte) string {
		t.Helper()
		if token == "" {
			token = srv.AdminToken
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/api/v1/tokens" && method == "GET" {
			data = []byte(sortTokens(string(data)))
		}
		fmt.Fprintf(&log, "== %s %s\n%d %s\n%s\n", method, path, resp.StatusCode, resp.Header.Get("Content-Type"), data)
		return string(data)
	}
	field := func(body, key string) string {
		t.Helper()
		m := regexp.MustCompile(`"` + key + `": "([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in %s", key, body)
		}
		return m[1]
	}
	disk := mixed(9, 3<<20)

	do("GET", "/healthz", "", nil)
	do("GET", "/api/v1/jobs", "", nil)
	do("GET", "/api/v1/receipt-key", "", nil)
	agentTok := field(do("POST", "/api/v1/tokens", "", []byte(`{"role":"agent","host":"HV01"}`)), "token")
	do("POST", "/api/v1/tokens", "", []byte(`{"role":"restore"}`))
	do("POST", "/api/v1/tokens", "", []byte(`{"role":"boss"}`))
	do("GET", "/api/v1/tokens", "", nil)

	// Sessions: open (and refusals), hints, uploads, complete twice, abort.
	sid := field(do("POST", "/api/v1/sessions", agentTok, []byte(`{"host":"HV01","vm":"VM<1>","backup_type":"full","consistency":"application","writers":[{"name":"w","id":"x"}],"disks":["a.raw","d.raw"]}`)), "id")
	do("POST", "/api/v1/sessions", agentTok, []byte(`{"host":"HV02","vm":"VM1"}`))
	do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV01","vm":"VM1","backup_type":"incr"}`))
	do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV01","vm":"VM1","consistency":"vss"}`))
	do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV01","vm":"VM1","bogus":1}`))
	do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV01","vm":"VM1","disks":[]}`))
	do("PUT", "/api/v1/sessions/"+sid+"/disks/d.raw/hints", agentTok, []byte(`{"boundaries":[0,1048576,2097152],"free":[{"off":2097152,"len":524288}],"exclude_free":true}`))
	do("PUT", "/api/v1/sessions/"+sid+"/disks/a.raw/hints", agentTok, []byte(`{"boundaries":[3]}`))
	do("POST", "/api/v1/sessions/"+sid+"/complete", agentTok, nil)
	do("PUT", "/api/v1/sessions/"+sid+"/disks/a.raw", agentTok, disk[:1<<20])
	do("PUT", "/api/v1/sessions/"+sid+"/disks/d.raw?format=raw", agentTok, disk)
	do("PUT", "/api/v1/sessions/"+sid+"/disks/x.raw", agentTok, disk[:4096])
	do("PUT", "/api/v1/sessions/"+sid+"/disks/d.raw?format=dmg", agentTok, disk[:4096])
	do("PUT", "/api/v1/sessions/"+sid+"/writer-metadata", agentTok, []byte("cab document"))
	do("GET", "/api/v1/sessions", "", nil)
	tick()
	snap := field(do("POST", "/api/v1/sessions/"+sid+"/complete", agentTok, nil), "snapshot")
	do("POST", "/api/v1/sessions/"+sid+"/complete", agentTok, nil)
	do("PUT", "/api/v1/sessions/"+sid+"/disks/d.raw", agentTok, disk[:4096])
	tick()
	sid2 := field(do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV01","vm":"VM2","backup_type":"copy","consistency":"crash"}`)), "id")
	do("PUT", "/api/v1/sessions/"+sid2+"/disks/d.raw", "", disk[:1<<20])
	snap2 := field(do("POST", "/api/v1/sessions/"+sid2+"/complete", "", nil), "snapshot")
	tick()
	sid3 := field(do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV01","vm":"VM2","backup_type":"copy","consistency":"crash"}`)), "id")
	do("PUT", "/api/v1/sessions/"+sid3+"/disks/d.raw", "", disk[1<<20:])
	do("POST", "/api/v1/sessions/"+sid3+"/complete", "", nil)
	sid4 := field(do("POST", "/api/v1/sessions", "", []byte(`{"host":"HV03","vm":"VM3"}`)), "id")
	do("POST", "/api/v1/sessions/"+sid4+"/complete", "", nil)
	do("POST", "/api/v1/sessions/"+sid4+"/abort", "", nil)
	do("POST", "/api/v1/sessions/"+sid4+"/abort", "", nil)
	do("POST", "/api/v1/sessions/nosuch/complete", "", nil)

	// Snapshots: lists, manifests, restores refused, protection.
	do("GET", "/api/v1/snapshots", "", nil)
	do("GET", "/api/v1/snapshots?host=HV01&vm=VM%3C1%3E", agentTok, nil)
	do("GET", "/api/v1/snapshots?host=HV02", agentTok, nil)
	do("GET", "/api/v1/snapshots?host=HV09", "", nil)
	do("GET", "/api/v1/snapshots/"+snap, "", nil)
	do("GET", "/api/v1/snapshots/"+snap2, agentTok, nil)
	do("GET", "/api/v1/snapshots/nosuch", "", nil)
	do("GET", "/api/v1/snapshots/"+snap+"/disks/nosuch?format=raw", "", nil)
	do("GET", "/api/v1/snapshots/"+snap+"/disks/d.raw?format=dmg", "", nil)
	do("GET", "/api/v1/snapshots/"+snap+"/disks/d.raw?format=raw", agentTok, nil)
	do("GET", "/api/v1/snapshots/"+snap+"/disks/d.raw/fs/", "", nil)
	do("GET", "/api/v1/snapshots/"+snap+"/disks/d.raw/fs/x/ls?path=/", "", nil)
	do("PUT", "/api/v1/snapshots/"+snap+"/protected", "", []byte("true"))
	do("PUT", "/api/v1/snapshots/"+snap+"/protected", "", []byte("yes"))
	do("DELETE", "/api/v1/snapshots/"+snap, "", nil)

	// Policies, forget, prune, check, jobs, stats, repair.
	do("PUT", "/api/v1/policies/p1", "", []byte(`{"match":{"host":"HV*"},"keep_last":1,"keep_within":"720h"}`))
	do("PUT", "/api/v1/policies/p2", "", []byte(`{"match":{},"keep_daily":2,"keep_hourly":-1,"keep_weekly":3,"keep_monthly":4,"keep_yearly":5}`))
	do("PUT", "/api/v1/policies/bad", "", []byte(`{"keep_within":"soon"}`))
	do("GET", "/api/v1/policies/p1", "", nil)
	do("GET", "/api/v1/policies/nosuch", "", nil)
	do("GET", "/api/v1/policies", "", nil)
	do("DELETE", "/api/v1/policies/p2", "", nil)
	do("DELETE", "/api/v1/policies/p2", "", nil)
	do("POST", "/api/v1/forget", "", []byte(`{"dry_run":true}`))
	do("POST", "/api/v1/forget", "", []byte(`{"host":"HV01","dry_run":true,"policy":{"keep_last":1}}`))
	do("POST", "/api/v1/forget", "", []byte(`{"policy":{"keep_last":1}}`))
	do("POST", "/api/v1/forget", "", []byte(`{"policy":{"keep_within":"1s"},"host":"HV01","vm":"VM2"}`))
	do("PUT", "/api/v1/snapshots/"+snap+"/protected", "", []byte("false"))
	do("POST", "/api/v1/prune", "", []byte(`{"grace":"0s"}`))
	do("POST", "/api/v1/prune", "", []byte(`{"repack_below":2}`))
	do("POST", "/api/v1/check", "", []byte(`{"read_data_percent":100}`))
	do("POST", "/api/v1/check", "", nil)
	do("POST", "/api/v1/check", "", []byte(`{"read_data_percent":101}`))
	do("GET", "/api/v1/jobs", "", nil)
	do("GET", "/api/v1/stats", "", nil)
	do("POST", "/api/v1/repair/index", "", nil)
	do("GET", "/api/v1/snapshots", "", nil)
	do("DELETE", "/api/v1/snapshots/"+snap, "", nil)

	// Refusals of any route, and the tokens revoked.
	do("GET", "/api/v1/nosuch", "", nil)
	do("PATCH", "/api/v1/snapshots", "", nil)
	do("GET", "/api/v1/stats", agentTok, nil)
	do("GET", "/api/v1/stats", "svt_bad_bad", nil)
	list := do("GET", "/api/v1/tokens", "", nil)
	for _, m := range regexp.MustCompile(`"id": "([0-9a-f]+)"`).FindAllStringSubmatch(list, -1) {
		do("DELETE", "/api/v1/tokens/"+m[1], "", nil)
	}
	do("DELETE", "/api/v1/tokens/nosuch", "", nil)

	// Browsing a snapshot's NTFS volume, on a server of its own: the
	// volume's serial number and times differ at every run.
	dir := t.TempDir()
	raw := vhdtest.NTFSDisk(t, dir, 16, map[string][]byte{"a.txt": []byte("hello\n"), "b.bin": mixed(3, 300<<10), "$Extend/c.bin": []byte("c")})
	srv = testserver.Start(t, testserver.Options{})
	log.WriteString("== (NTFS server)\n")
	fsSnap := backup(t, srv, "HV01", "FS01", raw).Snapshot
	base := "/api/v1/snapshots/" + fsSnap + "/disks/" + filepath.Base(raw) + "/fs"
	do("GET", base+"/", "", nil)
	do("GET", base+"/1/ls?path=/", "", nil)
	do("GET", base+"/1/ls?path=/$Extend", "", nil)
	do("GET", base+"/1/ls?path=/nosuch", "", nil)
	do("GET", base+"/1/ls?path=/a.txt", "", nil)
	do("GET", base+"/2/ls?path=/", "", nil)
	do("GET", base+"/1/cat?path=/$Extend", "", nil)

	got := maskWire(log.String())
	golden := filepath.Join("testdata", "wire.golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("answers differ from %s at line %d:\n got: %s\nwant: %s", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("answers differ from %s: %d lines, want %d", golden, len(gl), len(wl))
	}
}

// maskWire replaces random values by placeholders numbered by first
// appearance, and wall-clock times and durations by <time> and <n>.
func maskWire(s string) string {
	s = regexp.MustCompile(`"(created|last_start|last_end|last_active|mtime)": "[^"]*"`).ReplaceAllString(s, `"$1": "<time>"`)
	s = regexp.MustCompile(`"seconds": [0-9.e+-]+`).ReplaceAllString(s, `"seconds": <n>`)
	seen := map[string]string{}
	return regexp.MustCompile(`svt_[0-9a-f]+_[0-9a-f]+|[0-9a-f]{12,}`).ReplaceAllStringFunc(s, func(v string) string {
		if p, ok := seen[v]; ok {
			return p
		}
		p := fmt.Sprintf("<v%d>", len(seen))
		seen[v] = p
		return p
	})
}

// sortTokens orders the entries of a token list by what follows their
// (random) id, so that the list reads the same at every run.
func sortTokens(s string) string {
	const open, sep, end = "[\n    {\n", "\n    },\n    {\n", "\n    }\n  ]"
	i, j := strings.Index(s, open), strings.LastIndex(s, end)
	if i < 0 || j < i {
		return s
	}
	parts := strings.Split(s[i+len(open):j], sep)
	key := func(e string) string { return e[strings.Index(e, "\n"):] }
	sort.Slice(parts, func(a, b int) bool { return key(parts[a]) < key(parts[b]) })
	return s[:i+len(open)] + strings.Join(parts, sep) + s[j:]
}
