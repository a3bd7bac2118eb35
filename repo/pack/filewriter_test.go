package pack

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
)

// A file-backed writer makes exactly the pack a writer in memory makes:
// the same bytes and the same name, through Add and AddCompress.
func TestFileWriterSameAsMemory(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "pack"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, file := NewWriter(1<<20), Codec{}.NewFileWriter(f)
	for i := range 50 {
		raw := bytes.Repeat([]byte{byte(i), byte(i * 7)}, 1000+i*300)
		id := chunk.Sum(raw)
		if i%2 == 0 {
			stored, c := chunk.Compress(nil, raw)
			if a, b := mem.Add(id, stored, len(raw), c), file.Add(id, stored, len(raw), c); a != b {
				t.Fatalf("entry %d: %+v in memory, %+v in a file", i, a, b)
			}
			continue
		}
		a, err1 := mem.AddCompress(id, raw)
		b, err2 := file.AddCompress(id, raw)
		if err1 != nil || err2 != nil || a != b {
			t.Fatalf("entry %d: %+v (%v) in memory, %+v (%v) in a file", i, a, err1, b, err2)
		}
	}
	if mem.Size() != file.Size() {
		t.Fatalf("size %d in memory, %d in a file", mem.Size(), file.Size())
	}
	want, wantName, err := mem.Finish()
	if err != nil {
		t.Fatal(err)
	}
	n, name, err := file.FinishFile()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) || name != wantName || !bytes.Equal(got, want) {
		t.Fatalf("file pack: %d bytes named %s, want %d named %s (equal bytes: %v)", n, name.Short(), len(want), wantName.Short(), bytes.Equal(got, want))
	}
	if _, _, err := file.Finish(); err == nil {
		t.Fatal("Finish of a file-backed writer did not refuse")
	}
}
