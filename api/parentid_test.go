package api_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// containerIDs parses an image and returns its DiskID and DataWriteID.
func containerIDs(t *testing.T, img []byte) (diskID, dataWriteID [16]byte) {
	t.Helper()
	st, err := vhd.NewStream(bytes.NewReader(img), vhd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := st.Next(); err != nil {
			break
		}
	}
	return st.Info().DiskID, st.Info().DataWriteID
}

// TestParentLinkedByIDOnly: a differencing disk is merged with an uploaded
// disk only when its parent ID names that disk (VHD: the parent's unique
// id; VHDX: the DataWriteGuid of the parent's current header). A locator
// naming an uploaded disk is not enough: such a child keeps its original
// restore, and a merged restore answers 409 PARENT_MISSING.
func TestParentLinkedByIDOnly(t *testing.T) {
	dir := t.TempDir()
	parentRaw := vhdtest.RandomRaw(t, dir, 4<<20, "rtz")
	m := readFile(t, parentRaw)
	copy(m[4096:], bytes.Repeat([]byte("child data "), 1000))
	merged := filepath.Join(dir, "merged.raw")
	os.WriteFile(merged, m, 0o600)
	wrong := func(id [16]byte) [16]byte { id[0] ^= 0xff; return id }
	for _, c := range []struct {
		name, format, parentName string
		// childID picks the parent ID written into the child.
		childID func(diskID, dataWriteID [16]byte) [16]byte
		linked  bool
	}{
		{"vhd locator names parent, id differs", "vhd", "parent.vhd",
			func(d, _ [16]byte) [16]byte { return wrong(d) }, false},
		{"vhdx locator names parent, id differs", "vhdx", "parent.vhdx",
			func(_, w [16]byte) [16]byte { return wrong(w) }, false},
		{"vhdx id is the parent's VirtualDiskId", "vhdx", "parent.vhdx",
			func(d, _ [16]byte) [16]byte { return d }, false},
		{"vhd id matches, name differs", "vhd", "base.vhd",
			func(d, _ [16]byte) [16]byte { return d }, true},
		{"vhdx id matches, name differs", "vhdx", "base.vhdx",
			func(_, w [16]byte) [16]byte { return w }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testserver.Start(t, testserver.Options{})
			pdir := t.TempDir()
			parentImg := filepath.Join(pdir, c.parentName)
			os.Rename(vhdtest.Convert(t, parentRaw, map[string]string{"vhd": "vpc", "vhdx": "vhdx"}[c.format]), parentImg)
			parentID := c.childID(containerIDs(t, readFile(t, parentImg)))
			child := filepath.Join(pdir, "child."+c.format)
			p := vhdtest.Parent{Path: `D:\Hyper-V\VM1\parent.` + c.format, ID: parentID, Raw: parentRaw}
			if c.format == "vhd" {
				vhdtest.DiffVHD(t, child, p, merged)
			} else {
				vhdtest.DiffVHDX(t, child, p, merged)
			}

			id := openSession(t, s, "HV01", "VM1")
			if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/"+c.parentName, bytes.NewReader(readFile(t, parentImg))); a.status != 200 {
				t.Fatalf("parent upload: %d %s", a.status, a.code)
			}
			a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/child."+c.format, bytes.NewReader(readFile(t, child)))
			if a.status != 200 {
				t.Fatalf("child upload: %d %s", a.status, a.code)
			}
			// The upload summary says the disk needs a parent, and which.
			if a.body["has_parent"] != true || a.body["parent_id"] != hex.EncodeToString(parentID[:]) {
				t.Errorf("child upload summary: has_parent %v parent_id %v, want true %x", a.body["has_parent"], a.body["parent_id"], parentID)
			}
			a = callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/complete", nil)
			if a.status != 200 {
				t.Fatalf("complete: %d %s %s", a.status, a.code, a.message)
			}
			snap, _ := a.body["snapshot"].(string)

			man := callJSON(t, s, "GET", "/api/v1/snapshots/"+snap, nil)
			var cd map[string]any
			disks, _ := man.body["disks"].([]any)
			for _, d := range disks {
				if d, _ := d.(map[string]any); d["name"] == "child."+c.format {
					cd = d
				}
			}
			cont, _ := cd["container"].(map[string]any)
			wantParent := any(nil)
			if c.linked {
				wantParent = c.parentName
			}
			if cont["has_parent"] != true || cd["parent"] != wantParent {
				t.Fatalf("manifest: container.has_parent %v, parent %v; want true, %v", cont["has_parent"], cd["parent"], wantParent)
			}

			if !bytes.Equal(restore(t, s, snap, "child."+c.format, "original"), readFile(t, child)) {
				t.Fatal("original restore of the child differs")
			}
			for _, f := range []string{"raw", "vhd", "vhdx"} {
				path := "/api/v1/snapshots/" + snap + "/disks/child." + c.format + "?format=" + f
				if !c.linked {
					if st, code := call(t, s, "GET", path, s.AdminToken, nil); st != 409 || code != "PARENT_MISSING" {
						t.Fatalf("%s restore of an unlinked child: %d %s, want 409 PARENT_MISSING", f, st, code)
					}
					continue
				}
				if f == "raw" && !bytes.Equal(restore(t, s, snap, "child."+c.format, f), m) {
					t.Fatal("merged raw restore differs")
				}
			}
		})
	}
}
