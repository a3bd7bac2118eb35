package bench

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// A tiny corpus builds, is cached, and holds VHD and VHDX images that
// qemu-img reads; the shared file selection is deterministic.
func TestBuildCorpusSmall(t *testing.T) {
	p := CorpusParams{VMs: 2, SharedMiB: 3, UniqueMiB: 1, DiskMiB: 64, Every: 7, Roots: []string{"/usr/share"}, ChangePercent: 10}
	a, err := selectShared(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := selectShared(p)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("shared file selection is not deterministic")
	}
	dir := t.TempDir()
	c, err := BuildCorpus(dir, p, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.VMs) != 2 || c.ChangedFiles == 0 || c.SharedBytes == 0 || c.SharedBytes > 3<<20 {
		t.Fatalf("corpus: %+v", c)
	}
	for _, vm := range append(c.VMs, c.Changed) {
		for _, img := range []struct{ path, format string }{{vm.VHD, "vpc"}, {vm.VHDX, "vhdx"}} {
			out, err := exec.Command("qemu-img", "info", "-f", img.format, img.path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "virtual size: 64 MiB") {
				t.Fatalf("qemu-img info %s: %v\n%s", img.path, err, out)
			}
		}
	}
	// The changed image differs from VM 1's, the others from each other.
	if out, err := exec.Command("qemu-img", "compare", "-q", "-f", "vhdx", "-F", "vhdx", c.VMs[0].VHDX, c.Changed.VHDX).CombinedOutput(); err == nil {
		t.Fatalf("changed image equals the original: %s", out)
	}
	st, _ := os.Stat(c.VMs[0].VHDX)
	c2, err := BuildCorpus(dir, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(c2.VMs[0].VHDX)
	if c2.Dir != c.Dir || !st.ModTime().Equal(st2.ModTime()) {
		t.Fatal("second BuildCorpus did not reuse the cache")
	}
}
