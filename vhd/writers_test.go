package vhd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// checkWriters writes the parsed content as VHD and VHDX and checks them
// with qemu-img and with our own parser.
func checkWriters(t *testing.T, p *parsed, raw string) {
	t.Helper()
	d := p.disk(t, true)
	dir := t.TempDir()
	for _, w := range []struct {
		ext   string
		write func(*os.File) (int64, error)
		size  int64
	}{
		{".vhd", func(f *os.File) (int64, error) { return vhd.WriteVHD(f, d, vhd.ImageIDs{}) }, vhd.VHDSize(d)},
		{".vhdx", func(f *os.File) (int64, error) { return vhd.WriteVHDX(f, d, vhd.ImageIDs{}) }, vhd.VHDXSize(d)},
	} {
		out := filepath.Join(dir, "out"+w.ext)
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		n, err := w.write(f)
		f.Close()
		if err != nil {
			t.Fatalf("write %s: %v", w.ext, err)
		}
		st, _ := os.Stat(out)
		if n != w.size || st.Size() != n {
			t.Fatalf("%s: wrote %d bytes, file %d, size function %d", w.ext, n, st.Size(), w.size)
		}
		info := vhdtest.QemuImg(t, "info", out)
		if !strings.Contains(info, "virtual size") {
			t.Fatalf("qemu-img info %s:\n%s", out, info)
		}
		if w.ext == ".vhdx" {
			vhdtest.QemuImg(t, "check", out)
		}
		vhdtest.Compare(t, raw, out)
		q := mustParse(t, out, vhd.Options{})
		if q.info.VirtualSize != roundUp512(p.info.VirtualSize) {
			t.Fatalf("%s: virtual size %d, want %d", w.ext, q.info.VirtualSize, p.info.VirtualSize)
		}
		vhdtest.Compare(t, raw, q.raw)
	}
}

func roundUp512(n int64) int64 { return (n + 511) &^ 511 }
