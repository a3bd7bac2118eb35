package compat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// expectations is what the generator saw the current code answer, stored
// as testdata/v1/expect.json. Answers are kept as the server sent them;
// the test requires each to be contained in today's answer (see subset).
type expectations struct {
	GeneratedFrom string                     `json:"generated_from"` // the commit the generator ran on
	ReceiptKey    string                     `json:"receipt_key"`    // hex, GET /api/v1/receipt-key
	Snapshots     json.RawMessage            `json:"snapshots"`      // GET /api/v1/snapshots
	Manifests     map[string]json.RawMessage `json:"manifests"`      // GET /api/v1/snapshots/{id}
	Receipts      []json.RawMessage          `json:"receipts"`       // as complete (or the agent) returned them
	Protected     string                     `json:"protected"`      // the protected snapshot
	Policies      json.RawMessage            `json:"policies"`       // GET /api/v1/policies
	ForgetDryRun  json.RawMessage            `json:"forget_dry_run"` // POST /api/v1/forget {"dry_run":true}
	Tokens        json.RawMessage            `json:"tokens"`         // GET /api/v1/tokens
	Stats         json.RawMessage            `json:"stats"`          // GET /api/v1/stats
	WriterMeta    map[string]string          `json:"writer_metadata_sha256"`
	Restores      []restore                  `json:"restores"`
}

// restore is one restore of one disk of one snapshot in one format.
type restore struct {
	Snapshot string `json:"snapshot"`
	Disk     string `json:"disk"`
	Format   string `json:"format"`
	Size     int64  `json:"size"`
	// SHA256 is of the bytes restored; for vhd and vhdx, of the bytes with
	// the fields every write draws anew zeroed (see maskContainer).
	SHA256 string `json:"sha256"`
}

// formats are the restore formats of DESIGN.md section 5.
var formats = []string{"original", "raw", "vhd", "vhdx"}

// dataDir is the committed repository and state the test opens.
var dataDir = filepath.Join("testdata", "v1")

func loadExpectations(t *testing.T) *expectations {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "expect.json"))
	if err != nil {
		t.Fatalf("%v (regenerate as doc.go says)", err)
	}
	var e expectations
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Restores) == 0 || len(e.Manifests) == 0 || len(e.Receipts) == 0 {
		t.Fatal("expect.json holds no restores, manifests or receipts")
	}
	return &e
}

// sortedKeys returns the keys of m in order; snapshot IDs sort by time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// restoreDisk restores one disk in one format and returns its size and
// SHA-256 (masked for vhd and vhdx).
func restoreDisk(t *testing.T, s *server, snap, disk, format string) (int64, string) {
	t.Helper()
	path := "/api/v1/snapshots/" + snap + "/disks/" + url.PathEscape(disk) + "?format=" + format
	resp := s.do(t, http.MethodGet, path, nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("restore %s %s %s: %d %s", snap, disk, format, resp.StatusCode, msg)
	}
	// Read into one buffer of the announced size where there is one: a
	// growing buffer costs several copies, which the race detector makes
	// slow.
	var b []byte
	if n := resp.ContentLength; n >= 0 && n <= 1<<30 {
		b = make([]byte, n, n+1)
	}
	b, err := readAllInto(resp.Body, b)
	if err != nil {
		t.Fatalf("restore %s %s %s: %v", snap, disk, format, err)
	}
	if err := maskContainer(format, b); err != nil {
		t.Fatalf("restore %s %s %s: %v", snap, disk, format, err)
	}
	sum := sha256.Sum256(b)
	return int64(len(b)), hex.EncodeToString(sum[:])
}

// readAllInto fills b from r, then reads on to EOF, appending: it returns
// everything r held.
func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	rest, err := io.ReadAll(r)
	return append(b, rest...), err
}

// verifyReceipt checks the Ed25519 signature of a receipt as the server
// sent it against the hex public key: over the canonical receipt (DESIGN.md
// section 5), computed here from the JSON itself.
func verifyReceipt(raw json.RawMessage, keyHex string) error {
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("receipt key %q is not a hex Ed25519 key", keyHex)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	sigHex, _ := m["signature"].(string)
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("receipt has no valid signature field: %q", sigHex)
	}
	delete(m, "signature")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil { // maps encode with sorted keys
		return err
	}
	if !ed25519.Verify(key, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), sig) {
		return fmt.Errorf("receipt signature does not verify")
	}
	return nil
}

// subset reports where got lacks or differs from something in want: every
// object member of want must be in got with a value that contains want's;
// arrays must have the same length, element by element; other values must
// be equal. Fields a newer version adds to an answer are allowed.
func subset(want, got json.RawMessage) error {
	var w, g any
	if err := decodeNumbers(want, &w); err != nil {
		return fmt.Errorf("want: %w", err)
	}
	if err := decodeNumbers(got, &g); err != nil {
		return fmt.Errorf("got: %w", err)
	}
	return contains("$", w, g)
}

func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func contains(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %v", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := contains(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: want %d elements, got %v", path, len(w), got)
		}
		for i := range w {
			if err := contains(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
	default:
		if want != got {
			return fmt.Errorf("%s: want %v, got %v", path, want, got)
		}
	}
	return nil
}

// mustSubset fails the test unless want is contained in got.
func mustSubset(t *testing.T, what string, want, got json.RawMessage) {
	t.Helper()
	if err := subset(want, got); err != nil {
		t.Errorf("%s differs from the generated answer: %v", what, err)
	}
}
