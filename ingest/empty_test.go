package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestEmptyDiskRefused: a disk without content (a 0-byte body, or a
// container of virtual size 0) is vhd.ErrEmptyDisk and stores nothing.
func TestEmptyDiskRefused(t *testing.T) {
	dir := t.TempDir()
	bodies := map[string][]byte{"0 bytes": nil}
	for name, args := range map[string][]string{
		"dynamic vhd": {"-f", "vpc"},
		"fixed vhd":   {"-f", "vpc", "-o", "subformat=fixed"},
		"vhdx":        {"-f", "vhdx", "-o", "block_size=1M"},
	} {
		img := filepath.Join(dir, name)
		vhdtest.QemuImg(t, append(append([]string{"create"}, args...), img, "0")...)
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		bodies[name] = b
	}
	for name, body := range bodies {
		for _, f := range []vhd.Format{0, vhd.FormatRaw} {
			if f == vhd.FormatRaw && len(body) > 0 {
				continue // a container forced raw is a disk of its file size
			}
			m := &memSaver{}
			res, err := Disk(context.Background(), bytes.NewReader(body), m, Options{Params: testParams, Format: f})
			if !errors.Is(err, vhd.ErrEmptyDisk) {
				t.Fatalf("%s (format %d): result %+v, error %v, want %v", name, f, res, err, vhd.ErrEmptyDisk)
			}
			// A fixed VHD ends in its footer: its size is known only then.
			if len(m.chunks) != 0 && name != "fixed vhd" {
				t.Fatalf("%s: %d chunks stored", name, len(m.chunks))
			}
		}
	}
}
