package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
)

type route struct {
	name    string
	allowed map[string]bool // role -> allowed
	// do performs the request as token tok (of role role) and returns the status.
	do func(t *testing.T, s *testserver.Server, tok string) int
}

func roles(rs ...string) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[r] = true
	}
	return m
}

// fixture backs up one disk of host HV01 and returns the snapshot id.
func fixture(t *testing.T, s *testserver.Server) string {
	rc := backup(t, s, "HV01", "VM1", writeDisk(t, t.TempDir(), "d.raw", random(256<<10)))
	return rc.Snapshot
}

// sessionVMs numbers the VMs of the sessions the matrix opens: a host
// and VM have one session in flight at most.
var sessionVMs atomic.Int64

// sessionAs opens a session for HV01 and a VM of its own with token tok
// (falling back to the admin token for roles that may not open sessions).
func sessionAs(t *testing.T, s *testserver.Server, tok string) string {
	vm := fmt.Sprintf("RM%d", sessionVMs.Add(1))
	id, err := s.Client(tok).OpenSession(context.Background(), apiv1.SessionRequest{Host: "HV01", VM: vm, BackupType: "full", Consistency: "application"})
	if err != nil {
		id = openSession(t, s, "HV01", vm)
	}
	return id
}

func routes() []route {
	return []route{
		{"GET receipt-key", roles("admin", "restore", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/receipt-key", tok, nil)
			return st
		}},
		{"POST sessions", roles("admin", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			body := fmt.Sprintf(`{"host":"HV01","vm":"RM%d"}`, sessionVMs.Add(1))
			st, _ := call(t, s, "POST", "/api/v1/sessions", tok, strings.NewReader(body))
			return st
		}},
		{"GET sessions", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/sessions", tok, nil)
			return st
		}},
		{"PUT disk", roles("admin", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			id := sessionAs(t, s, tok)
			st, _ := call(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/d.raw", tok, bytes.NewReader(random(70000)))
			return st
		}},
		{"POST complete", roles("admin", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			id := sessionAs(t, s, tok)
			if _, err := s.Client("").PutDisk(context.Background(), id, "d.raw", bytes.NewReader(random(1000)), 1000, ""); err != nil {
				t.Fatal(err)
			}
			st, _ := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", tok, nil)
			return st
		}},
		{"POST abort", roles("admin", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "POST", "/api/v1/sessions/"+sessionAs(t, s, tok)+"/abort", tok, nil)
			return st
		}},
		{"GET snapshots", roles("admin", "restore", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/snapshots", tok, nil)
			return st
		}},
		{"GET snapshot", roles("admin", "restore", "agent"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/snapshots/"+fixture(t, s), tok, nil)
			return st
		}},
		{"GET restore", roles("admin", "restore"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/snapshots/"+fixture(t, s)+"/disks/d.raw?format=raw", tok, nil)
			return st
		}},
		{"GET fs partitions", roles("admin", "restore"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/snapshots/"+fixture(t, s)+"/disks/d.raw/fs/", tok, nil)
			return st
		}},
		{"GET fs ls", roles("admin", "restore"), func(t *testing.T, s *testserver.Server, tok string) int {
			// a disk without NTFS: the route is reached, and answers 404 for the partition
			st, _ := call(t, s, "GET", "/api/v1/snapshots/"+fixture(t, s)+"/disks/d.raw/fs/1/ls?path=/", tok, nil)
			if st == 404 {
				st = 200
			}
			return st
		}},
		{"GET fs cat", roles("admin", "restore"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/snapshots/"+fixture(t, s)+"/disks/d.raw/fs/1/cat?path=/a", tok, nil)
			if st == 404 {
				st = 200
			}
			return st
		}},
		{"DELETE snapshot", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "DELETE", "/api/v1/snapshots/"+fixture(t, s), tok, nil)
			return st
		}},
		{"GET metrics", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/metrics", tok, nil)
			return st
		}},
		{"GET stats", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/stats", tok, nil)
			return st
		}},
		{"POST tokens", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "POST", "/api/v1/tokens", tok, strings.NewReader(`{"role":"restore"}`))
			return st
		}},
		{"GET tokens", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/tokens", tok, nil)
			return st
		}},
		{"PUT policy", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "PUT", "/api/v1/policies/daily", tok, strings.NewReader(`{"match":{"vm":"SQL*"},"keep_daily":7}`))
			return st
		}},
		{"GET policies", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/policies", tok, nil)
			return st
		}},
		{"GET policy", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			s.Repo.PutPolicy("p1", repoPolicy())
			st, _ := call(t, s, "GET", "/api/v1/policies/p1", tok, nil)
			return st
		}},
		{"DELETE policy", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			s.Repo.PutPolicy("p2", repoPolicy())
			st, _ := call(t, s, "DELETE", "/api/v1/policies/p2", tok, nil)
			return st
		}},
		{"PUT protected", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "PUT", "/api/v1/snapshots/"+fixture(t, s)+"/protected", tok, strings.NewReader("true"))
			return st
		}},
		{"POST forget", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "POST", "/api/v1/forget", tok, strings.NewReader(`{"dry_run":true,"policy":{"keep_last":1}}`))
			return st
		}},
		{"POST prune", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "POST", "/api/v1/prune", tok, nil)
			return st
		}},
		{"POST check", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "POST", "/api/v1/check", tok, strings.NewReader(`{"read_data_percent":10}`))
			return st
		}},
		{"GET jobs", roles("admin", "restore"), func(t *testing.T, s *testserver.Server, tok string) int {
			st, _ := call(t, s, "GET", "/api/v1/jobs", tok, nil)
			return st
		}},
		{"GET job", roles("admin", "restore"), func(t *testing.T, s *testserver.Server, tok string) int {
			list, err := s.Repo.History().List(repo.JobFilter{Kind: repo.JobBackup, Host: "HV01", Limit: 1})
			if err != nil || len(list) == 0 {
				t.Fatalf("no backup job of HV01: %v", err)
			}
			st, _ := call(t, s, "GET", "/api/v1/jobs/"+list[0].ID, tok, nil)
			return st
		}},
		{"POST repair index", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			for _, open := range s.Repo.Sessions() { // a rebuild waits for no backup
				if sess, err := s.Repo.Session(open.ID); err == nil {
					sess.Abort()
				}
			}
			st, _ := call(t, s, "POST", "/api/v1/repair/index", tok, nil)
			return st
		}},
		{"DELETE token", roles("admin"), func(t *testing.T, s *testserver.Server, tok string) int {
			victim, _, err := s.Tokens.Create("restore", "")
			if err != nil {
				t.Fatal(err)
			}
			st, _ := call(t, s, "DELETE", "/api/v1/tokens/"+victim.ID, tok, nil)
			return st
		}},
	}
}

// TestRoleMatrix checks every route with every role: allowed routes answer
// 2xx, the others 403.
func TestRoleMatrix(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	tokens := map[string]string{"admin": s.AdminToken}
	for _, role := range []string{"restore", "agent"} {
		_, plain, err := s.Tokens.Create(apiv1.Role(role), "HV01")
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = plain
	}
	for _, rt := range routes() {
		for _, role := range []string{"admin", "restore", "agent"} {
			t.Run(fmt.Sprintf("%s/%s", rt.name, role), func(t *testing.T) {
				st := rt.do(t, s, tokens[role])
				switch {
				case rt.allowed[role] && (st < 200 || st > 299):
					t.Fatalf("%s as %s: %d, want 2xx", rt.name, role, st)
				case !rt.allowed[role] && st != 403:
					t.Fatalf("%s as %s: %d, want 403", rt.name, role, st)
				}
			})
		}
	}
}

// TestAgentConfinedToItsHost checks that HV01's agent token cannot touch HV02.
func TestAgentConfinedToItsHost(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	_, hv01, _ := s.Tokens.Create("agent", "HV01")
	_, hv02, _ := s.Tokens.Create("agent", "HV02")
	other := backup(t, s, "HV02", "VM9", writeDisk(t, t.TempDir(), "d.raw", random(100000))).Snapshot
	own := backup(t, s, "HV01", "VM1", writeDisk(t, t.TempDir(), "e.raw", random(100000))).Snapshot

	if st, code := call(t, s, "POST", "/api/v1/sessions", hv01, strings.NewReader(`{"host":"HV02","vm":"VM9"}`)); st != 403 || code != "FORBIDDEN" {
		t.Errorf("HV01 opened a session for HV02: %d %s", st, code)
	}
	if st, _ := call(t, s, "GET", "/api/v1/snapshots?host=HV02", hv01, nil); st != 403 {
		t.Errorf("HV01 listed HV02's snapshots: %d", st)
	}
	var list struct{ Snapshots []struct{ ID, Host string } }
	if err := s.Client(hv01).Do(context.Background(), "GET", "/api/v1/snapshots", nil, 0, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Snapshots) != 1 || list.Snapshots[0].ID != own {
		t.Errorf("HV01's list = %+v, want only its own snapshot %s", list.Snapshots, own)
	}
	if st, _ := call(t, s, "GET", "/api/v1/snapshots/"+other, hv01, nil); st != 404 {
		t.Errorf("HV01 read HV02's manifest: %d", st)
	}
	if st, _ := call(t, s, "GET", "/api/v1/snapshots/"+other+"/disks/d.raw", hv01, nil); st != 403 {
		t.Errorf("HV01 restored HV02's disk: %d", st)
	}
	for _, snap := range []string{own, other} {
		if st, _ := call(t, s, "DELETE", "/api/v1/snapshots/"+snap, hv01, nil); st != 403 {
			t.Errorf("HV01 deleted snapshot %s: %d", snap, st)
		}
	}
	// A session opened by HV02's agent is not HV01's to write, complete or abort.
	id, err := s.Client(hv02).OpenSession(context.Background(), apiv1.SessionRequest{Host: "HV02", VM: "VM9"})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range [][2]string{{"PUT", "/disks/x.raw"}, {"POST", "/complete"}, {"POST", "/abort"}} {
		if st, _ := call(t, s, req[0], "/api/v1/sessions/"+id+req[1], hv01, strings.NewReader("x")); st != 403 {
			t.Errorf("HV01 %s %s on HV02's session: %d", req[0], req[1], st)
		}
	}
	if n := snapshotCount(t, s); n != 2 {
		t.Fatalf("%d snapshots, want the 2 made", n)
	}
}

func TestRevokedTokenFails(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	tok, plain, _ := s.Tokens.Create("agent", "HV01")
	if st, _ := call(t, s, "GET", "/api/v1/receipt-key", plain, nil); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	if st, _ := call(t, s, "DELETE", "/api/v1/tokens/"+tok.ID, s.AdminToken, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if st, code := call(t, s, "GET", "/api/v1/receipt-key", plain, nil); st != 401 || code != "UNAUTHORIZED" {
		t.Fatalf("revoked token: %d %s, want 401", st, code)
	}
	// A token with the right id but another secret is refused too.
	_, plain2, _ := s.Tokens.Create("admin", "")
	forged := plain2[:len(plain2)-4] + "abcd"
	if st, _ := call(t, s, "GET", "/api/v1/receipt-key", forged, nil); st != 401 {
		t.Fatalf("forged secret: %d, want 401", st)
	}
}

func repoPolicy() repo.Policy { return repo.Policy{KeepLast: 3} }
