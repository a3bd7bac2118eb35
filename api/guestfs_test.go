package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestItemLevelRecovery backs up a VHDX holding an NTFS volume and browses
// and downloads its files from the snapshot, without restoring the disk.
func TestItemLevelRecovery(t *testing.T) {
	files := map[string][]byte{
		"readme.txt":       []byte("a small resident file\n"),
		"database.mdf":     mixed(31, 5<<20+777), // more than 4 chunks
		"logs.ldf":         bytes.Repeat([]byte("log record "), 50000),
		"$Extend/deep.bin": random(300 << 10), // a file inside a directory
	}
	dir := t.TempDir()
	raw := vhdtest.NTFSDisk(t, dir, 48, files)
	img := filepath.Join(dir, "os.vhdx")
	os.Rename(vhdtest.Convert(t, raw, "vhdx"), img)
	s := testserver.Start(t, testserver.Options{})
	rc := backup(t, s, "HV01", "FS01", img)
	base := "/api/v1/snapshots/" + rc.Snapshot + "/disks/os.vhdx/fs"
	c := s.Client("")
	ctx := context.Background()

	var parts []struct {
		Index        int
		Type         string
		Offset, Size int64
	}
	if err := c.Do(ctx, "GET", base+"/", nil, 0, &parts); err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || parts[0].Type != "ntfs" || parts[0].Offset != 1<<20 || parts[0].Index != 1 {
		t.Fatalf("partitions %+v", parts)
	}
	var ls struct {
		Entries []struct {
			Name string
			Size int64
			Dir  bool
		}
	}
	if err := c.Do(ctx, "GET", base+"/1/ls?path=/", nil, 0, &ls); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range ls.Entries {
		got[e.Name] = e.Size
	}
	for name, data := range files {
		if strings.Contains(name, "/") {
			continue
		}
		if got[name] != int64(len(data)) {
			t.Fatalf("ls / = %v: %s missing or wrong size", got, name)
		}
	}
	if err := c.Do(ctx, "GET", base+"/1/ls?path=/$Extend", nil, 0, &ls); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ls.Entries {
		found = found || e.Name == "deep.bin"
	}
	if !found {
		t.Fatalf("ls /$Extend = %+v", ls.Entries)
	}
	for name, data := range files {
		var buf bytes.Buffer
		resp, err := httpGet(s, base+"/1/cat?path=/"+name)
		if err != nil {
			t.Fatal(err)
		}
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("cat %s: status %d, %d bytes, want %d identical", name, resp.StatusCode, buf.Len(), len(data))
		}
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{base + "/1/cat?path=/nothing.txt", 404},
		{base + "/1/cat?path=/$Extend", 400},
		{base + "/1/ls?path=/readme.txt", 400},
		{base + "/7/ls?path=/", 404},
		{base + "/x/ls?path=/", 400},
	} {
		resp, err := httpGet(s, c.path)
		if err != nil {
			t.Fatal(err)
		}
		var e map[string]any
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.status || e["error"] == nil {
			t.Errorf("%s: %d %v, want %d with an error code", c.path, resp.StatusCode, e, c.status)
		}
	}
}
