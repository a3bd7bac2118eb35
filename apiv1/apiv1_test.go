package apiv1

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestParseRole(t *testing.T) {
	for _, s := range []string{"admin", "restore", "agent"} {
		if r, err := ParseRole(s); err != nil || r.String() != s || !r.Valid() {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Admin", "root"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q): no error", s)
		}
	}
}

// TestErrorBody: {"error":{"code":"...","message":"..."}}.
func TestErrorBody(t *testing.T) {
	b, err := json.Marshal(ErrorBody{Error: Error{Code: CodeDiskFailed, Message: "disk a: x"}})
	if err != nil || string(b) != `{"error":{"code":"DISK_FAILED","message":"disk a: x"}}` {
		t.Fatalf("%s %v", b, err)
	}
}

// TestDiskSummaryFields: an upload summary begins with the receipt's disk.
func TestDiskSummaryFields(t *testing.T) {
	b, _ := json.Marshal(DiskSummary{Disk: Disk{Name: "a"}, Chunks: 1})
	want := `{"name":"a","format":"","virtual_size":0,"stream_bytes":0,"stream_blake3":"","new_bytes":0,"stored_bytes":0,"chunks":1}`
	if string(b) != want {
		t.Fatalf("%s\nwant %s", b, want)
	}
}

// TestImports: of the project, the wire package pulls in package receipt
// and the disk model only (with chunk below it), so that every client can
// import it without the repository.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/shadowvault/shadowvault") {
			continue // the disk model's modules: chunker, BLAKE3, zstd
		}
		switch p {
		case "github.com/shadowvault/shadowvault/apiv1", "github.com/shadowvault/shadowvault/receipt",
			"github.com/shadowvault/shadowvault/diskmap", "github.com/shadowvault/shadowvault/chunk":
		default:
			t.Errorf("apiv1 depends on %s", p)
		}
	}
}
