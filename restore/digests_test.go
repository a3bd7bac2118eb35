package restore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/restore"
)

// expectedDigests hashes data block by block.
func expectedDigests(data []byte, bs int) []byte {
	var out []byte
	for off := 0; off < len(data); off += bs {
		s := blake3.Sum256(data[off:min(off+bs, len(data))])
		out = append(out, s[:]...)
	}
	return out
}

// TestDigests: the block digests of a snapshot disk are the BLAKE3 of its
// blocks, whether hashed, known zero, or taken from an earlier disk made
// of the same chunks; a block that differs from the earlier disk is
// hashed again.
func TestDigests(t *testing.T) {
	r := openRepo(t)
	data := testDisk()
	data = append(data, 7, 7, 7) // a short last block
	m := backUp(t, r, map[string][]byte{"d0.raw": data})
	ctx := context.Background()
	d, err := restore.Open(ctx, r, m, "d0.raw", restore.Raw)
	if err != nil {
		t.Fatal(err)
	}
	first, err := d.Digests(ctx, restore.DigestBlock, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, expectedDigests(data, restore.DigestBlock)) {
		t.Fatal("digests differ from the blocks' BLAKE3")
	}
	changed := bytes.Clone(data)
	changed[5<<20+17] ^= 1
	m2 := backUp(t, r, map[string][]byte{"d0.raw": changed})
	d2, err := restore.Open(ctx, r, m2, "d0.raw", restore.Raw)
	if err != nil {
		t.Fatal(err)
	}
	// Given wrong digests for the earlier disk, reuse shows: blocks of the
	// same chunks keep the earlier (here wrong) digest, others are hashed.
	fake := bytes.Repeat([]byte{0xEE}, len(first))
	second, err := d2.Digests(ctx, restore.DigestBlock, d, fake)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedDigests(changed, restore.DigestBlock)
	var reused, hashed int
	for i := 0; i*32 < len(want); i++ {
		got := second[i*32 : (i+1)*32]
		switch {
		case bytes.Equal(got, want[i*32:(i+1)*32]):
			hashed++
		case bytes.Equal(got, fake[i*32:(i+1)*32]):
			reused++
			if i == 5 {
				t.Fatal("the changed block took the earlier digest")
			}
		default:
			t.Fatalf("block %d: digest neither hashed nor reused", i)
		}
	}
	if reused == 0 || hashed == 0 {
		t.Fatalf("%d blocks reused, %d hashed", reused, hashed)
	}
}
