package ingest

import (
	"errors"
	"io"
)

// runSegments is run for the parallel chunker: it reads each run of
// contiguous content in segments and hands them to pc, which chunks them.
// The walker's own chunker is not used; zero extents, container bytes and
// hints are handled by Read as in run.
func (w *walker) runSegments(pc *parallelChunker) error {
	for !w.done {
		w.runBytes, w.runEnded = 0, false
		var prev *segment
		for {
			buf, err := pc.buffer()
			if err != nil {
				return err
			}
			n, err := io.ReadFull(w, buf)
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				pc.release(buf)
				return err
			}
			if n == 0 {
				pc.release(buf)
				break
			}
			s := &segment{off: w.runStart + w.runBytes - int64(n), data: buf[:n], first: prev == nil}
			if prev != nil {
				if err := pc.send(prev); err != nil {
					pc.release(buf)
					return err
				}
			}
			prev = s
			if n < len(buf) {
				break // the run ended inside this segment
			}
		}
		if prev != nil {
			// Known only now: no byte of the run follows prev.
			prev.last = true
			if err := pc.send(prev); err != nil {
				return err
			}
		}
	}
	return nil
}
