package restore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/restore"
	"github.com/shadowvault/shadowvault/vhd"
)

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]restore.Format{"": restore.Raw, "raw": restore.Raw, "original": restore.Original, "vhd": restore.VHD, "vhdx": restore.VHDX} {
		if got, err := restore.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"qcow2", "RAW", "vhd ", "auto"} {
		if _, err := restore.ParseFormat(in); !errors.Is(err, restore.ErrBadFormat) {
			t.Errorf("ParseFormat(%q): %v, want ErrBadFormat", in, err)
		}
	}
	names := map[restore.Format]string{restore.Raw: "d0.vhdx", restore.Original: "d0.vhdx", restore.VHD: "d0.vhd", restore.VHDX: "d0.vhdx"}
	for f, want := range names {
		if got := f.FileName("d0.vhdx"); got != want {
			t.Errorf("%v.FileName = %q, want %q", f, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	const size = 1000
	cases := []struct {
		h    string
		want restore.Range
		ok   bool
	}{
		{"bytes=0-99", restore.Range{Off: 0, Len: 100}, true},
		{"bytes=900-", restore.Range{Off: 900, Len: 100}, true},
		{"bytes=990-2000", restore.Range{Off: 990, Len: 10}, true},
		{"bytes=-10", restore.Range{Off: 990, Len: 10}, true},
		{"bytes=-5000", restore.Range{Off: 0, Len: 1000}, true},
		{"bytes=1000-", restore.Range{}, false},
		{"bytes=5-4", restore.Range{}, false},
		{"bytes=0-1,5-6", restore.Range{}, false},
		{"bytes=-0", restore.Range{}, false},
		{"items=0-1", restore.Range{}, false},
		{"bytes=x-1", restore.Range{}, false},
	}
	for _, c := range cases {
		got, ok := restore.ParseRange(c.h, size)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v, %v", c.h, got, ok, c.want, c.ok)
		}
	}
}

// testDisk is 6 MiB of random data with a 2 MiB hole of zeros.
func testDisk() []byte {
	d := make([]byte, 6<<20)
	rng := mrand.NewChaCha8([32]byte{9})
	rng.Read(d[:2<<20])
	rng.Read(d[4<<20:])
	return d
}

func TestFormatsRestoreTheContent(t *testing.T) {
	r := openRepo(t)
	data := testDisk()
	m := backUp(t, r, map[string][]byte{"d0.raw": data})
	ctx := context.Background()
	for _, f := range []restore.Format{restore.Raw, restore.Original, restore.VHD, restore.VHDX} {
		d, err := restore.Open(ctx, r, m, "d0.raw", f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		var out bytes.Buffer
		n, err := d.WriteTo(&out)
		if err != nil || n != d.Size() || int64(out.Len()) != d.Size() {
			t.Fatalf("%v: wrote %d of %d bytes: %v", f, n, d.Size(), err)
		}
		if d.VirtualSize() != int64(len(data)) {
			t.Fatalf("%v: virtual size %d", f, d.VirtualSize())
		}
		got := out.Bytes()
		if f == restore.VHD || f == restore.VHDX {
			got = readImage(t, out.Bytes())
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%v: content differs", f)
		}
		if !d.Ranges() {
			t.Fatalf("%v: no ranges", f)
		}
		if _, err = d.WriteRange(io.Discard, restore.Range{Off: 0, Len: 1}); err != nil {
			t.Fatalf("%v: WriteRange: %v", f, err)
		}
	}
	d, err := restore.Open(ctx, r, m, "d0.raw", restore.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range []restore.Range{{Off: 0, Len: 1}, {Off: 2<<20 - 10, Len: 20}, {Off: 1 << 20, Len: 4 << 20}, {Off: 6<<20 - 1, Len: 1}} {
		var out bytes.Buffer
		if _, err := d.WriteRange(&out, rg); err != nil || !bytes.Equal(out.Bytes(), data[rg.Off:rg.Off+rg.Len]) {
			t.Fatalf("range %v: %v", rg, err)
		}
		p := make([]byte, rg.Len)
		if n, err := d.ReadAt(p, rg.Off); (err != nil && err != io.EOF) || n != len(p) || !bytes.Equal(p, data[rg.Off:rg.Off+rg.Len]) {
			t.Fatalf("ReadAt %v: %d, %v", rg, n, err)
		}
	}
}

// readImage parses a VHD or VHDX file and returns its virtual content.
func readImage(t *testing.T, file []byte) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, file, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := vhd.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, img.Size())
	if _, err := img.ReadAt(out, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return out
}

func TestUnknownDisk(t *testing.T) {
	r := openRepo(t)
	m := backUp(t, r, map[string][]byte{"d0.raw": testDisk()})
	if _, err := restore.Open(context.Background(), r, m, "d1.raw", restore.Raw); !errors.Is(err, restore.ErrUnknownDisk) {
		t.Fatalf("open of a disk the snapshot lacks: %v, want ErrUnknownDisk", err)
	}
	if _, err := restore.Open(context.Background(), r, m, "d0.raw", restore.Format(0)); !errors.Is(err, restore.ErrBadFormat) {
		t.Fatalf("open in format 0: %v, want ErrBadFormat", err)
	}
}

// TestReadsCarryTheOpenContext: once the context of Open ends, every way
// of reading the disk stops with its error.
func TestReadsCarryTheOpenContext(t *testing.T) {
	r := openRepo(t)
	m := backUp(t, r, map[string][]byte{"d0.raw": testDisk()})
	for _, f := range []restore.Format{restore.Raw, restore.Original, restore.VHD, restore.VHDX} {
		ctx, cancel := context.WithCancel(context.Background())
		d, err := restore.Open(ctx, r, m, "d0.raw", f)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := d.WriteTo(io.Discard); !errors.Is(err, context.Canceled) {
			t.Errorf("%v: WriteTo after cancel: %v", f, err)
		}
		if f != restore.Original {
			for _, n := range []int{4096, 5 << 20} {
				if _, err := d.ReadAt(make([]byte, n), 0); !errors.Is(err, context.Canceled) {
					t.Errorf("%v: ReadAt of %d bytes after cancel: %v", f, n, err)
				}
			}
			// ReadAtContext takes its own context.
			if _, err := d.ReadAtContext(context.Background(), make([]byte, 4096), 0); err != nil {
				t.Errorf("%v: ReadAtContext with a live context: %v", f, err)
			}
		}
	}
}
