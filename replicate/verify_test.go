package replicate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

// tamperSource is a real repository's source that damages what it sends.
type tamperSource struct {
	replicate.LocalSource
	damage func(i int, id chunk.ID, data []byte) (chunk.ID, []byte)
}

func (s tamperSource) Chunks(ctx context.Context, ids []chunk.ID, fn func(chunk.ID, []byte) error) error {
	i := 0
	return s.LocalSource.Chunks(ctx, ids, func(id chunk.ID, data []byte) error {
		id, data = s.damage(i, id, append([]byte(nil), data...))
		i++
		return fn(id, data)
	})
}

// TestSyncRefusesBadChunks: a chunk whose content does not match its
// plain ID, a chunk of the wrong length, or a chunk other than the one
// asked for stops the sync with ErrBadChunk, and the target lists no
// snapshot; the same sync with the source's true bytes then succeeds.
func TestSyncRefusesBadChunks(t *testing.T) {
	src := testserver.Start(t, testserver.Options{})
	dst := testserver.Start(t, testserver.Options{Encrypted: true})
	v := newVM(t, 41, 0, 3<<20)
	rc := backup(t, src, "HV01", "VM1", writeFile(t, v.dir+"/d.raw", v.data))
	ctx := context.Background()
	for name, damage := range map[string]func(int, chunk.ID, []byte) (chunk.ID, []byte){
		"flipped byte": func(i int, id chunk.ID, d []byte) (chunk.ID, []byte) {
			if i == 1 {
				d[len(d)/2] ^= 1
			}
			return id, d
		},
		"short": func(i int, id chunk.ID, d []byte) (chunk.ID, []byte) {
			if i == 0 {
				d = d[:len(d)-1]
			}
			return id, d
		},
		"other chunk": func(i int, id chunk.ID, d []byte) (chunk.ID, []byte) {
			if i == 0 {
				id[0] ^= 1
			}
			return id, d
		},
	} {
		_, err := replicate.Run(ctx, tamperSource{replicate.LocalSource{R: src.Repo}, damage}, replicate.Local{R: dst.Repo},
			replicate.Options{Logger: quiet}, nil)
		if !errors.Is(err, replicate.ErrBadChunk) {
			t.Fatalf("%s: %v, want ErrBadChunk", name, err)
		}
		if list, _ := dst.Repo.Snapshots(repo.Filter{}); len(list) != 0 {
			t.Fatalf("%s: the target lists %d snapshots", name, len(list))
		}
	}
	st, err := replicate.Run(ctx, replicate.LocalSource{R: src.Repo}, replicate.Local{R: dst.Repo}, replicate.Options{Logger: quiet}, nil)
	if err != nil || st.Snapshots != 1 {
		t.Fatalf("clean sync: %+v %v", st, err)
	}
	if got := restore(t, dst, rc.Snapshot, "d.raw", "raw"); string(got) != string(v.data) {
		t.Fatal("the copy differs")
	}
}

// TestSyncVerifyCatchesSubstitutedContent: a source with a key of its own
// sends a chunk whose content it changed; the target cannot check a keyed
// ID, so the chunk itself passes, but with Verify the copy read back does
// not give the stream BLAKE3 of the source's signed receipt: the sync
// fails with ErrVerify and lists nothing. Without Verify it would be
// stored, which is why docs/REPLICATION.md recommends it.
func TestSyncVerifyCatchesSubstitutedContent(t *testing.T) {
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	dst := testserver.Start(t, testserver.Options{Encrypted: true})
	v := newVM(t, 43, 0, 3<<20)
	backup(t, src, "HV01", "VM1", writeFile(t, v.dir+"/d.raw", v.data))
	flip := func(i int, id chunk.ID, d []byte) (chunk.ID, []byte) {
		if i == 0 {
			d[7] ^= 1
		}
		return id, d
	}
	ctx := context.Background()
	_, err := replicate.Run(ctx, tamperSource{replicate.LocalSource{R: src.Repo}, flip}, replicate.Local{R: dst.Repo},
		replicate.Options{Logger: quiet, Verify: true}, nil)
	if !errors.Is(err, replicate.ErrVerify) {
		t.Fatalf("sync of substituted content with verify: %v, want ErrVerify", err)
	}
	if list, _ := dst.Repo.Snapshots(repo.Filter{}); len(list) != 0 {
		t.Fatalf("the target lists %d snapshots", len(list))
	}
	st, err := replicate.Run(ctx, replicate.LocalSource{R: src.Repo}, replicate.Local{R: dst.Repo},
		replicate.Options{Logger: quiet, Verify: true}, nil)
	if err != nil || st.Snapshots != 1 || st.DisksVerified != 1 {
		t.Fatalf("clean sync with verify: %+v %v", st, err)
	}
}
