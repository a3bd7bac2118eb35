package vhd_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestEmptyContainers: a dynamic VHD and a VHDX whose virtual size is 0
// (as qemu-img creates them) are ErrEmptyDisk, streamed and mapped. A raw
// stream of 0 bytes and a fixed VHD of size 0 parse to a disk of size 0:
// their size is known only at the end, and the caller refuses them.
func TestEmptyContainers(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, format string }{{"dynamic.vhd", "vpc"}, {"d.vhdx", "vhdx"}} {
		t.Run(c.name, func(t *testing.T) {
			img := filepath.Join(dir, c.name)
			vhdtest.QemuImg(t, "create", "-f", c.format, img, "0")
			_, err := parseFile(t, img, vhd.Options{})
			wantErr(t, err, vhd.ErrEmptyDisk)
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = vhd.OpenImage(f)
			wantErr(t, err, vhd.ErrEmptyDisk)
		})
	}
	fixed := filepath.Join(dir, "fixed.vhd")
	vhdtest.QemuImg(t, "create", "-f", "vpc", "-o", "subformat=fixed", fixed, "0")
	if p := mustParse(t, fixed, vhd.Options{}); p.info.Format != vhd.FormatVHD || p.info.VirtualSize != 0 {
		t.Fatalf("fixed VHD of size 0: info %+v", p.info)
	}
	s, err := vhd.NewStream(bytes.NewReader(nil), vhd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != io.EOF || s.Info().VirtualSize != 0 {
		t.Fatalf("empty raw stream: %v, info %+v", err, s.Info())
	}
}
