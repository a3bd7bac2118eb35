package agent

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"unicode/utf16"
)

// TestCollectRCT: the changes come in as many calls as the range buffer
// needs, are clipped to the disk and merged.
func TestCollectRCT(t *testing.T) {
	const size = 100 << 20
	all := []rctRange{{Offset: 0, Length: 4096}, {Offset: 4096, Length: 4096}, {Offset: 1 << 20, Length: 1 << 20}}
	for i := 0; i < 5000; i++ { // more than one buffer of ranges
		all = append(all, rctRange{Offset: uint64(10<<20 + i*8192), Length: 512})
	}
	all = append(all, rctRange{Offset: size - 512, Length: 4096}) // past the end
	calls := 0
	query := func(offset, length uint64, out []rctRange) (int, uint64, error) {
		calls++
		n := 0
		for _, r := range all {
			if r.Offset < offset || r.Offset >= offset+length {
				continue
			}
			if n == len(out) {
				return n, r.Offset - offset, nil // covered up to the first range that did not fit
			}
			out[n] = r
			n++
		}
		return n, length, nil
	}
	cs, err := collectRCT(size, query)
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 {
		t.Fatalf("%d calls for %d ranges", calls, len(all))
	}
	if want := (Change{Offset: 0, Length: 8192}); cs[0] != want {
		t.Fatalf("first change %+v, want the two adjacent ranges merged %+v", cs[0], want)
	}
	if last := cs[len(cs)-1]; last.Offset+last.Length != size {
		t.Fatalf("last change %+v runs past or short of the disk's end", last)
	}
	if len(cs) != 2+5000+1 {
		t.Fatalf("%d changes", len(cs))
	}
}

func TestCollectRCTErrors(t *testing.T) {
	boom := errors.New("invalid id")
	if _, err := collectRCT(1<<20, func(uint64, uint64, []rctRange) (int, uint64, error) { return 0, 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("query error: %v", err)
	}
	if _, err := collectRCT(1<<20, func(uint64, uint64, []rctRange) (int, uint64, error) { return 0, 0, nil }); !errors.Is(err, errNoRCT) {
		t.Fatalf("a query that covers nothing: %v, want errNoRCT (never a loop)", err)
	}
}

func stateBuffer(enabled bool, id string, terminate bool) []byte {
	buf := make([]byte, 1024)
	binary.LittleEndian.PutUint32(buf, 15)
	if enabled {
		binary.LittleEndian.PutUint32(buf[8:], 1)
	}
	u := utf16.Encode([]rune(id))
	for i, c := range u {
		binary.LittleEndian.PutUint16(buf[16+2*i:], c)
	}
	if !terminate {
		for i := 16 + 2*len(u); i < len(buf); i += 2 {
			binary.LittleEndian.PutUint16(buf[i:], 'x')
		}
	}
	return buf
}

func TestParseChangeTrackingState(t *testing.T) {
	id := "rctX:c1e5b3f2:9b74:4a8b:a7d2:5fc0a9e3b2a1:00000003"
	got, err := parseChangeTrackingState(stateBuffer(true, id, true))
	if err != nil || got != id {
		t.Fatalf("state: %q, %v", got, err)
	}
	for name, buf := range map[string][]byte{
		"disabled":     stateBuffer(false, id, true),
		"unterminated": stateBuffer(true, id, false),
		"empty id":     stateBuffer(true, "", true),
		"short":        make([]byte, 10),
	} {
		if _, err := parseChangeTrackingState(buf); !errors.Is(err, errNoRCT) {
			t.Errorf("%s: %v, want errNoRCT", name, err)
		}
	}
	if !reflect.DeepEqual(normalizeChanges(nil, 10, 10), []Change(nil)) {
		t.Fatal("no changes, same size: nothing to send")
	}
}

// TestCollectRCTNoProgress: a query that covers nothing new ends the walk
// with errNoRCT, never a loop.
func TestCollectRCTNoProgress(t *testing.T) {
	calls := 0
	_, err := collectRCT(1<<20, func(off, length uint64, out []rctRange) (int, uint64, error) {
		calls++
		if calls > 10 {
			t.Fatal("the walk loops")
		}
		out[0] = rctRange{Offset: 0, Length: off} // ends where the walk is
		return 1, 0, nil
	})
	if !errors.Is(err, errNoRCT) {
		t.Fatalf("%v, want errNoRCT", err)
	}
}
