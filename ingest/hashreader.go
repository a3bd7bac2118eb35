package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zeebo/blake3"
)

const (
	readAheadBuf   = 1 << 20
	readAheadDepth = 4
)

type block struct {
	buf []byte
	err error
}

// hashReader reads the request body ahead in its own goroutine, hashing
// every byte (BLAKE3) and counting it, so that network reads and the stream
// hash overlap with chunking.
type hashReader struct {
	full chan block
	free chan []byte
	stop chan struct{}
	done chan struct{}
	cur  []byte // unread part of buf
	buf  []byte // the block being read, returned to free when done
	err  error
	n    int64
	h    *blake3.Hasher
}

func newHashReader(ctx context.Context, r io.Reader) *hashReader {
	hr := &hashReader{
		full: make(chan block, readAheadDepth),
		free: make(chan []byte, readAheadDepth+1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
		h:    blake3.New(),
	}
	for i := 0; i < readAheadDepth+1; i++ {
		hr.free <- make([]byte, readAheadBuf)
	}
	go hr.fill(ctx, r)
	return hr
}

func (hr *hashReader) fill(ctx context.Context, r io.Reader) {
	defer close(hr.done)
	defer close(hr.full)
	for {
		var buf []byte
		select {
		case buf = <-hr.free:
		case <-hr.stop:
			return
		case <-ctx.Done():
			return
		}
		n, err := io.ReadAtLeast(r, buf, len(buf))
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		hr.h.Write(buf[:n])
		select {
		case hr.full <- block{buf: buf[:n], err: err}:
		case <-hr.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read returns buffered body bytes.
func (hr *hashReader) Read(p []byte) (int, error) {
	for len(hr.cur) == 0 {
		if hr.err != nil {
			return 0, hr.err
		}
		b, ok := <-hr.full
		if !ok {
			hr.err = io.ErrUnexpectedEOF // cancelled
			return 0, hr.err
		}
		hr.cur, hr.buf, hr.err = b.buf, b.buf, b.err
		if len(b.buf) == 0 {
			hr.release()
		}
	}
	n := copy(p, hr.cur)
	hr.cur = hr.cur[n:]
	hr.n += int64(n)
	if len(hr.cur) == 0 {
		hr.release()
	}
	return n, nil
}

func (hr *hashReader) release() {
	hr.free <- hr.buf[:cap(hr.buf)]
	hr.cur, hr.buf = nil, nil
}

// expectEOF checks that the body holds nothing more.
func (hr *hashReader) expectEOF() error {
	var one [1]byte
	n, err := hr.Read(one[:])
	if n > 0 {
		return fmt.Errorf("%w: the stream goes on after the image ends", ErrTrailingData)
	}
	if err != nil && err != io.EOF {
		return err
	}
	return nil
}

// sum returns the BLAKE3 of everything read; call after expectEOF.
func (hr *hashReader) sum() []byte {
	<-hr.done
	return hr.h.Sum(nil)
}

// Close stops the reading goroutine.
func (hr *hashReader) Close() {
	select {
	case <-hr.stop:
	default:
		close(hr.stop)
	}
}
