package api_test

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
)

// filesDisk lays files out back to back, each starting 4 KiB aligned, in the
// given order, like a filesystem would.
func filesDisk(files [][]byte, order []int) []byte {
	var d []byte
	for _, i := range order {
		d = append(d, files[i]...)
		if pad := len(d) % 4096; pad != 0 {
			d = append(d, make([]byte, 4096-pad)...)
		}
	}
	return d
}

// TestCrossVMDedup backs up two disks that hold the same 200 files in a
// different order: the second must add less than 10% of what the first did.
func TestCrossVMDedup(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GB: runs in the full (non-race) pass of make test")
	}
	r := mrand.New(mrand.NewPCG(42, 42))
	files := make([][]byte, 200)
	for i := range files {
		f := make([]byte, 1536<<10+r.IntN(2<<20))
		for j := 0; j+8 <= len(f); j += 8 {
			v := r.Uint64()
			f[j], f[j+1], f[j+2], f[j+3], f[j+4], f[j+5], f[j+6], f[j+7] =
				byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
		}
		files[i] = f
	}
	order1 := r.Perm(len(files))
	order2 := r.Perm(len(files))
	d1, d2 := filesDisk(files, order1), filesDisk(files, order2)
	if bytes.Equal(d1, d2) {
		t.Fatal("the two disks are the same")
	}
	s := testserver.Start(t, testserver.Options{PackSize: 16 << 20})
	dir := t.TempDir()
	packBytes := func() int64 {
		_, _, n, err := s.Index.Counts()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Two VMs of one host: the agent sees its own host's dedup.
	rc1 := backup(t, s, "HV01", "VM1", writeDisk(t, dir, "vm1.raw", d1))
	after1 := packBytes()
	rc2 := backup(t, s, "HV01", "VM2", writeDisk(t, dir, "vm2.raw", d2))
	after2 := packBytes()
	n1, n2 := rc1.Disks[0].NewBytes, rc2.Disks[0].NewBytes
	t.Logf("first backup: %d new bytes of %d; second: %d new bytes (%.1f%%)", n1, len(d1), n2, 100*float64(n2)/float64(n1))
	if n1 < int64(len(d1))*9/10 {
		t.Fatalf("first backup stored only %d of %d bytes of random files", n1, len(d1))
	}
	if n2*10 >= n1 {
		t.Fatalf("second backup added %d new bytes, not under 10%% of the first's %d", n2, n1)
	}
	// A third VM on another host: stored once all the same (the agent is
	// told its content is new, see TestOracleExactCopyOfOtherHost).
	backup(t, s, "HV02", "VM3", writeDisk(t, dir, "vm3.raw", d2))
	if grew := packBytes() - after2; grew*10 >= after1 {
		t.Fatalf("a copy on another host grew the packs by %d bytes, not under 10%% of the first's %d", grew, after1)
	}
	if got := restore(t, s, rc2.Snapshot, "vm2.raw", "raw"); !bytes.Equal(got, d2) {
		t.Fatal("second disk restored differently")
	}
}
