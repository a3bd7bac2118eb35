package repo_test

import (
	"context"
	"github.com/shadowvault/shadowvault/diskmap"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
)

// TestCheckFindsBitFlips flips bytes inside one chunk of a pack file: a
// read-data check names exactly the snapshots and disks that use it.
func TestCheckFindsBitFlips(t *testing.T) {
	s := testserver.Start(t, testserver.Options{PackSize: 1 << 20})
	e := &pruneEnv{Server: s, clock: newClock()}
	shared := randomBytes(21, 1<<20)
	uniqueA := randomBytes(22, 2<<20)
	snapA := e.store(t, "VMA", append(append([]byte(nil), uniqueA...), shared...))
	snapB := e.store(t, "VMB", append(append([]byte(nil), randomBytes(23, 2<<20)...), shared...))
	snapC := e.store(t, "VMC", randomBytes(24, 2<<20))

	// A chunk only snapshot A uses, and one A and B share.
	dmA := diskMapOf(t, e, snapA)
	dmB := diskMapOf(t, e, snapB)
	inB := map[chunk.ID]bool{}
	dmB.Chunks(func(id chunk.ID) { inB[id] = true })
	var onlyA, shared2 chunk.ID
	dmA.Chunks(func(id chunk.ID) {
		if inB[id] && shared2.IsZero() {
			shared2 = id
		}
		if !inB[id] && onlyA.IsZero() {
			onlyA = id
		}
	})
	ok, err := s.Repo.CheckData(context.Background(), repo.CheckOptions{ReadDataPercent: 100})
	if err != nil || !ok.OK {
		t.Fatalf("clean repository: %+v %v", ok, err)
	}
	for _, c := range []struct {
		name string
		id   chunk.ID
		want []string
	}{
		{"chunk of A only", onlyA, []string{snapA}},
		{"chunk of A and B", shared2, []string{snapA, snapB}},
	} {
		t.Run(c.name, func(t *testing.T) {
			restore := flipChunk(t, s, c.id)
			defer restore()
			structural, err := s.Repo.CheckData(context.Background(), repo.CheckOptions{})
			if err != nil || !structural.OK {
				t.Fatalf("a structure check reads no data and should pass: %+v %v", structural, err)
			}
			res, err := s.Repo.CheckData(context.Background(), repo.CheckOptions{ReadDataPercent: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range res.Damaged {
				if d.Disk != "disk.raw" {
					t.Fatalf("damaged disk %q", d.Disk)
				}
				got = append(got, d.Snapshot)
			}
			sort.Strings(got)
			want := append([]string(nil), c.want...)
			sort.Strings(want)
			if res.OK || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("damaged %v, want %v (C %s must not be named)", got, want, snapC)
			}
		})
	}
}

func diskMapOf(t *testing.T, e *pruneEnv, snap string) *diskmap.Map {
	t.Helper()
	m, err := e.Repo.Snapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := m.Disk("disk.raw")
	dm, err := e.Repo.LoadDiskMap(context.Background(), md.DiskMap)
	if err != nil {
		t.Fatal(err)
	}
	return dm
}

// flipChunk flips a byte in the middle of the chunk's stored bytes in its
// pack file, and returns a function that undoes it.
func flipChunk(t *testing.T, s *testserver.Server, id chunk.ID) func() {
	t.Helper()
	loc, ok, err := s.Index.Lookup(id)
	if err != nil || !ok {
		t.Fatalf("lookup %s: %v", id.Short(), err)
	}
	name := loc.Pack.String()
	path := filepath.Join(s.Dir, "repo", "packs", name[:2], name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	orig := append([]byte(nil), data...)
	data[loc.Entry.Offset+uint64(loc.Entry.Length)/2] ^= 0x10
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() { os.WriteFile(path, orig, 0o600) }
}
