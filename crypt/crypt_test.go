package crypt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// testKDF keeps the unit tests fast; TestDefaultKDFSlot opens one slot with
// the real parameters.
var testKDF = KDFParams{Name: "argon2id", Time: 1, MemoryKiB: 64, Threads: 1}

func testKeys(t testing.TB) *Keys {
	m, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return Derive(m)
}

func TestSealOpen(t *testing.T) {
	k := testKeys(t)
	for _, n := range []int{0, 1, 15, 16, 17, 4096, 1 << 20} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		b, err := k.Seal([]byte("prefix"), p, []byte("chunk 1"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("prefix")) || len(b) != 6+n+Overhead || PlainSize(len(b)-6) != n {
			t.Fatalf("n=%d: sealed %d bytes", n, len(b))
		}
		got, err := k.Open(nil, b[6:], []byte("chunk 1"))
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("n=%d: open: %v", n, err)
		}
		if n >= 16 && bytes.Contains(b, p[:16]) {
			t.Fatalf("n=%d: plaintext visible in the sealed blob", n)
		}
	}
}

// Every changed byte, every truncation, another aad and another key must
// all be refused with ErrAuth (or ErrFormat for the version byte).
func TestOpenRefusesTampering(t *testing.T) {
	k := testKeys(t)
	p := bytes.Repeat([]byte("virtual disk content "), 50)
	b, _ := k.Seal(nil, p, []byte("a"))
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 1 << (i % 8)
		if _, err := k.Open(nil, c, []byte("a")); !errors.Is(err, ErrAuth) && !errors.Is(err, ErrFormat) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for _, n := range []int{0, 1, Overhead - 1, Overhead, len(b) - 1} {
		if _, err := k.Open(nil, b[:n], []byte("a")); !errors.Is(err, ErrAuth) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := k.Open(nil, b, []byte("b")); !errors.Is(err, ErrAuth) {
		t.Fatalf("other aad: %v", err)
	}
	if _, err := testKeys(t).Open(nil, b, []byte("a")); !errors.Is(err, ErrAuth) {
		t.Fatalf("other key: %v", err)
	}
}

func TestSealIsRandomized(t *testing.T) {
	k := testKeys(t)
	a, _ := k.Seal(nil, []byte("same"), nil)
	b, _ := k.Seal(nil, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one plaintext are equal")
	}
}

func TestDerivedKeysDiffer(t *testing.T) {
	m, _ := NewMasterKey()
	k := Derive(m)
	if k.data == k.id {
		t.Fatal("derived keys coincide")
	}
	if *Derive(m) != *k {
		t.Fatal("derivation is not deterministic")
	}
	m2, _ := NewMasterKey()
	if Derive(m2).IDKey() == k.IDKey() {
		t.Fatal("ID keys equal under two master keys")
	}
}

func TestPassphraseSlot(t *testing.T) {
	m, _ := NewMasterKey()
	s, err := NewPassphraseSlot(m, []byte("correct horse"), testKDF, "ops")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(s)
	if bytes.Contains(raw, m[:]) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(m[:]))) {
		t.Fatal("master key in the slot")
	}
	s2, err := ParseSlot(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Unwrap([]byte("correct horse"))
	if err != nil || !got.Equal(m) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := s2.Unwrap([]byte("correct horsf")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := NewPassphraseSlot(m, nil, testKDF, ""); err == nil {
		t.Fatal("empty passphrase accepted")
	}
}

// A slot edited in the storage does not open: lowered KDF parameters, a
// changed wrapped key, a changed ID; and parameters beyond the bounds are
// refused before any work.
func TestSlotTampering(t *testing.T) {
	m, _ := NewMasterKey()
	s, _ := NewPassphraseSlot(m, []byte("pw"), KDFParams{Name: "argon2id", Time: 2, MemoryKiB: 128, Threads: 1}, "")
	edits := map[string]func(*Slot){
		"time":    func(s *Slot) { s.KDF.Time = 1 },
		"memory":  func(s *Slot) { s.KDF.MemoryKiB = 64 },
		"salt":    func(s *Slot) { s.KDF.Salt[0] ^= 1 },
		"wrapped": func(s *Slot) { s.Wrapped[len(s.Wrapped)-1] ^= 1 },
		"id":      func(s *Slot) { s.ID = "0000000000000000" },
	}
	for name, edit := range edits {
		raw, _ := json.Marshal(s)
		c, _ := ParseSlot(raw)
		edit(&c)
		if _, err := c.Unwrap([]byte("pw")); !errors.Is(err, ErrWrongKey) {
			t.Errorf("%s edited: %v", name, err)
		}
	}
	for name, p := range map[string]KDFParams{
		"memory": {Name: "argon2id", Time: 1, MemoryKiB: 1 << 30, Threads: 1, Salt: make([]byte, 16)},
		"time":   {Name: "argon2id", Time: 1000, MemoryKiB: 64, Threads: 1, Salt: make([]byte, 16)},
		"name":   {Name: "scrypt", Time: 1, MemoryKiB: 64, Threads: 1, Salt: make([]byte, 16)},
		"salt":   {Name: "argon2id", Time: 1, MemoryKiB: 64, Threads: 1},
	} {
		c := s
		c.KDF = &p
		start := time.Now()
		if _, err := c.Unwrap([]byte("pw")); !errors.Is(err, ErrFormat) {
			t.Errorf("%s out of bounds: %v", name, err)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s: the refusal did the work first", name)
		}
	}
	if _, err := ParseSlot([]byte(`{"magic":"other","version":1}`)); !errors.Is(err, ErrFormat) {
		t.Fatalf("other magic: %v", err)
	}
	if _, err := ParseSlot([]byte(`{"magic":"shadowvault-key-slot","version":2}`)); !errors.Is(err, ErrFormat) {
		t.Fatalf("version 2: %v", err)
	}
}

func TestKeyFileSlot(t *testing.T) {
	m, _ := NewMasterKey()
	f, err := NewKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKeyFileSlot(m, f, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Unwrap(f); err != nil || !got.Equal(m) {
		t.Fatalf("unwrap: %v", err)
	}
	g, _ := NewKeyFile()
	if _, err := s.Unwrap(g); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other key file: %v", err)
	}
	if _, err := NewKeyFileSlot(m, []byte("short"), ""); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("short key file: %v", err)
	}
	// A key file does not open a passphrase slot with the same bytes, and
	// the other way round.
	p, _ := NewPassphraseSlot(m, f, testKDF, "")
	p.Kind = SlotKeyFile
	p.KDF = nil
	if _, err := p.Unwrap(f); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("kind swapped: %v", err)
	}
}

func TestDefaultKDFSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB Argon2id")
	}
	m, _ := NewMasterKey()
	s, err := NewPassphraseSlot(m, []byte("pw"), KDFParams{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.KDF.MemoryKiB != DefaultKDF.MemoryKiB || s.KDF.Time != DefaultKDF.Time {
		t.Fatalf("params %+v", s.KDF)
	}
	if got, err := s.Unwrap([]byte("pw")); err != nil || !got.Equal(m) {
		t.Fatalf("unwrap: %v", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	k := testKeys(b)
	p := make([]byte, 128<<10)
	for i := range p {
		p[i] = byte(rand.IntN(256))
	}
	out := make([]byte, 0, len(p)+Overhead)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		out, _ = k.Seal(out[:0], p, []byte("id"))
	}
}

func BenchmarkOpen(b *testing.B) {
	k := testKeys(b)
	p := make([]byte, 128<<10)
	s, _ := k.Seal(nil, p, []byte("id"))
	out := make([]byte, 0, len(p))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		out, _ = k.Open(out[:0], s, []byte("id"))
	}
}
