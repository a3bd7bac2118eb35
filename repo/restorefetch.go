package repo

import (
	"context"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// fetch runs one read: the ranged read of the pack, then the decoding and
// BLAKE3 check of every wanted chunk in it. A chunk stored raw is checked
// in place and its bytes stay in the read's buffer; a compressed one is
// decoded into a buffer of its own (of a few sizes only, so that they are
// reused well).
func (r *Repository) fetch(ctx context.Context, rd *read) error {
	rd.buf = getBuf(int(rd.end - rd.off))
	h := backend.Handle{Type: backend.TypePack, Name: rd.pack.String()}
	if _, err := r.be.ReadAt(ctx, h, rd.buf, int64(rd.off)); err != nil {
		return err
	}
	for _, wt := range rd.wants {
		e := wt.loc.Entry
		stored := rd.buf[e.Offset-rd.off : e.Offset-rd.off+uint64(e.Length)]
		if e.Compression != chunk.Raw {
			wt.buf = getBuf(int(e.RawLength))
		}
		data, err := r.codec.DecodeView(wt.buf, stored, pack.Entry(e))
		if err != nil {
			return fmt.Errorf("pack %s: %w", rd.pack.Short(), err)
		}
		wt.data = data
	}
	return nil
}

// release gives the read's buffers back once it is done; its chunks'
// bytes must not be used afterwards.
func (rd *read) release() {
	<-rd.done
	putBuf(rd.buf)
	rd.buf = nil
	for _, wt := range rd.wants {
		putBuf(wt.buf)
		wt.buf, wt.data = nil, nil
	}
}

// finish ends a read with err (nil: its chunks are ready).
func (rd *read) finish(err error) {
	rd.err = err
	close(rd.done)
}
