package compat

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCompat serves a copy of the committed repository and state with
// today's binary and checks that everything the generator saw is still
// there: listings, manifests, receipts, every restore, check, retention and
// stats.
func TestCompat(t *testing.T) {
	e := loadExpectations(t)
	t.Run("serve", func(t *testing.T) {
		t.Parallel()
		repoDir, state := copyData(t)
		s := startServer(t, repoDir, state, offlineAdminToken(t, state))
		verify(t, s, e)
		// The admin token the server made at its first start still works.
		tok, err := os.ReadFile(filepath.Join(state, "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		first := &server{URL: s.URL, Token: strings.TrimSpace(string(tok))}
		if code, b := first.call(t, "GET", "/api/v1/stats", nil); code != http.StatusOK {
			t.Errorf("the committed admin token is refused: %d %s", code, b)
		}
		// A rebuild through the API finds the same catalogue.
		s.mustJSON(t, "POST", "/api/v1/repair/index", nil)
		mustSubset(t, "the snapshot list after POST /api/v1/repair/index", e.Snapshots, s.mustJSON(t, "GET", "/api/v1/snapshots", nil))
		mustSubset(t, "the stats after POST /api/v1/repair/index", e.Stats, s.mustJSON(t, "GET", "/api/v1/stats", nil))
	})
	t.Run("repair", func(t *testing.T) {
		t.Parallel()
		repoDir, state := copyData(t)
		if err := os.Remove(filepath.Join(state, "index.db")); err != nil {
			t.Fatal(err)
		}
		out := mustCLI(t, "repair", "index", "--repo", repoDir, "--state", state)
		want := regexp.MustCompile(`\b` + strconv.Itoa(len(e.Manifests)) + ` snapshots\b`)
		if !want.MatchString(out) {
			t.Errorf("repair index did not find %d snapshots:\n%s", len(e.Manifests), out)
		}
		s := startServer(t, repoDir, state, offlineAdminToken(t, state))
		verify(t, s, e)
	})
}

// copyData copies the committed repository and state into a temporary
// directory (testdata is never written) and returns both directories.
func copyData(t *testing.T) (repoDir, state string) {
	t.Helper()
	dir := t.TempDir()
	repoDir, state = filepath.Join(dir, "repo"), filepath.Join(dir, "state")
	copyTree(t, filepath.Join(dataDir, "repo"), repoDir)
	copyTree(t, filepath.Join(dataDir, "state"), state)
	return repoDir, state
}

// verify checks a server on the committed data against the expectations.
func verify(t *testing.T, s *server, e *expectations) {
	t.Helper()
	var key struct {
		ReceiptKey string `json:"receipt_key"`
	}
	json.Unmarshal(s.mustJSON(t, "GET", "/api/v1/receipt-key", nil), &key)
	if key.ReceiptKey != e.ReceiptKey {
		t.Fatalf("receipt key %s, want %s", key.ReceiptKey, e.ReceiptKey)
	}

	list := s.mustJSON(t, "GET", "/api/v1/snapshots", nil)
	var got struct{ Snapshots []struct{ ID string } }
	json.Unmarshal(list, &got)
	var ids []string
	for _, g := range got.Snapshots {
		ids = append(ids, g.ID)
	}
	slices.Sort(ids)
	if want := sortedKeys(e.Manifests); !slices.Equal(ids, want) {
		t.Fatalf("snapshots %v, want %v", ids, want)
	}
	mustSubset(t, "the snapshot list", e.Snapshots, list)

	inManifest := map[string]json.RawMessage{}
	for _, id := range ids {
		m := s.mustJSON(t, "GET", "/api/v1/snapshots/"+id, nil)
		mustSubset(t, "manifest "+id, e.Manifests[id], m)
		var rc struct{ Receipt json.RawMessage }
		json.Unmarshal(m, &rc)
		if err := verifyReceipt(rc.Receipt, key.ReceiptKey); err != nil {
			t.Errorf("the receipt in manifest %s: %v", id, err)
		}
		inManifest[id] = rc.Receipt
	}
	for i, rc := range e.Receipts {
		if err := verifyReceipt(rc, key.ReceiptKey); err != nil {
			t.Errorf("receipt %d as returned: %v", i, err)
		}
		var r struct{ Snapshot string }
		json.Unmarshal(rc, &r)
		mustSubset(t, "the receipt of snapshot "+r.Snapshot+" in its manifest", rc, inManifest[r.Snapshot])
	}
	for id, want := range e.WriterMeta {
		code, doc := s.call(t, "GET", "/api/v1/snapshots/"+id+"/writer-metadata", nil)
		if code != http.StatusOK || sha(doc) != want {
			t.Errorf("writer metadata of %s: %d, sha256 %s, want %s", id, code, sha(doc), want)
		}
	}

	for _, r := range e.Restores {
		n, sum := restoreDisk(t, s, r.Snapshot, r.Disk, r.Format)
		if n != r.Size || sum != r.SHA256 {
			t.Errorf("restore %s %s %s: %d bytes, sha256 %s; want %d bytes, %s", r.Snapshot, r.Disk, r.Format, n, sum, r.Size, r.SHA256)
		}
	}

	var check struct {
		OK       bool `json:"ok"`
		DataRead bool `json:"data_read"`
	}
	res := s.mustJSON(t, "POST", "/api/v1/check", map[string]int{"read_data_percent": 100})
	if json.Unmarshal(res, &check); !check.OK || !check.DataRead {
		t.Errorf("check with read_data_percent 100: %s", res)
	}

	mustSubset(t, "the policies", e.Policies, s.mustJSON(t, "GET", "/api/v1/policies", nil))
	mustSubset(t, "the forget dry run", e.ForgetDryRun, s.mustJSON(t, "POST", "/api/v1/forget", map[string]bool{"dry_run": true}))
	mustSubset(t, "the tokens", e.Tokens, generatedTokens(t, e.Tokens, s.mustJSON(t, "GET", "/api/v1/tokens", nil)))
	mustSubset(t, "the stats", e.Stats, s.mustJSON(t, "GET", "/api/v1/stats", nil))

	if code, b := s.call(t, "DELETE", "/api/v1/snapshots/"+e.Protected, nil); code/100 == 2 {
		t.Errorf("the protected snapshot %s was forgotten: %d %s", e.Protected, code, b)
	}
}

// generatedTokens returns the token list got without the tokens that want
// does not name (the admin token the test made), in want's order.
func generatedTokens(t *testing.T, want, got json.RawMessage) json.RawMessage {
	t.Helper()
	type list struct {
		Tokens []map[string]any `json:"tokens"`
	}
	var w, g, out list
	json.Unmarshal(want, &w)
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("token list: %v", err)
	}
	for _, wt := range w.Tokens {
		for _, gt := range g.Tokens {
			if gt["id"] == wt["id"] {
				out.Tokens = append(out.Tokens, gt)
			}
		}
	}
	b, _ := json.Marshal(out)
	return b
}
