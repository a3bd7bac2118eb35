package index

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// rssFile is the file-backed part of the process's RSS, in bytes.
func rssFile(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "RssFile:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// A scan of the chunks leaves at most about releaseEvery entries' worth of
// the index mapped into the process, not the file, and a count never maps
// more while it runs.
func TestScansReleaseMappedPages(t *testing.T) {
	defer func(old int64) { releaseEvery = old }(releaseEvery)
	path := filepath.Join(t.TempDir(), "index.db")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// One transaction a pack: bbolt splits nodes only when it commits.
	for p := 0; p < 100; p++ {
		np := NewPack{Info: PackInfo{ID: chunk.Sum(binary.LittleEndian.AppendUint64([]byte("pack"), uint64(p))), Size: 1 << 20, Count: 1000, Created: time.Unix(1600000000, 0)}}
		for i := 0; i < 1000; i++ {
			id := chunk.Sum(binary.LittleEndian.AppendUint64(nil, uint64(p*1000+i)))
			np.Entries = append(np.Entries, Entry{ID: id, Offset: uint64(i) << 10, Length: 1000, RawLength: 2000, Compression: chunk.Zstd})
		}
		if err := x.AddPack(np.Info.ID, np.Info.Size, np.Entries, np.Info.Created); err != nil {
			t.Fatal(err)
		}
	}
	x.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	scan := func(every int64) (scanned, counted int64) {
		releaseEvery = every
		x, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		before := rssFile(t)
		n := 0
		if err := x.ForEachChunk(func(chunk.ID, Location) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != 100_000 {
			t.Fatalf("scanned %d chunks", n)
		}
		scanned = rssFile(t) - before
		peak := sampleRSSFile(t)
		if n, _, _, err := x.Counts(); err != nil || n != 100_000 {
			t.Fatalf("counted %d chunks (%v)", n, err)
		}
		return scanned, peak() - before
	}
	kept, _ := scan(1 << 40)
	if kept < fi.Size()/2 {
		t.Skipf("a scan without releases left %d KiB of a %d KiB index mapped: nothing to measure", kept>>10, fi.Size()>>10)
	}
	scanned, counted := scan(2048)
	t.Logf("index %d KiB; mapped after a scan: %d KiB; with releases %d KiB, at most %d KiB during a count", fi.Size()>>10, kept>>10, scanned>>10, counted>>10)
	if scanned > kept/4 || counted > kept/4 {
		t.Errorf("with releases, a scan left %d KiB of a %d KiB index mapped, a count mapped %d KiB (%d KiB after a scan without releases)",
			scanned>>10, fi.Size()>>10, counted>>10, kept>>10)
	}
}

// sampleRSSFile samples rssFile every millisecond until the returned
// function is called, which returns the largest sample.
func sampleRSSFile(t *testing.T) func() int64 {
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		for {
			if v := rssFile(t); v > peak {
				peak = v
			}
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}
