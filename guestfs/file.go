package guestfs

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// catBuffer is how much Cat reads from the volume at a time.
const catBuffer = 1 << 20

// Open returns a reader of the default data stream of the file at path,
// and its size. Sparse runs and bytes past the initialized size read as
// zeros; compressed files are decompressed. Encrypted files are
// ErrUnsupported. The reader is safe for concurrent use and stays valid
// until the FS is closed; its reads carry ctx.
func (fs *FS) Open(ctx context.Context, p string) (io.ReaderAt, int64, error) {
	var s *stream
	err := fs.do(ctx, "open "+p, func() error {
		rec, _, err := fs.resolve(p)
		if err != nil {
			return err
		}
		if rec.isDir {
			return fmt.Errorf("%s: %w", p, ErrIsDir)
		}
		if len(rec.find(attrData, "")) == 0 {
			s = &stream{} // a file without data is empty
			return nil
		}
		s, err = fs.openStream(rec, attrData, "")
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("open %q: %w", p, err)
	}
	return &fileReader{ctx: ctx, fs: fs, s: s}, s.size, nil
}

// Cat writes the file at path to w and returns the bytes written. It
// stops early with ctx's error when ctx is done.
func (fs *FS) Cat(ctx context.Context, p string, w io.Writer) (int64, error) {
	r, size, err := fs.Open(ctx, p)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(size, catBuffer))
	var done int64
	for done < size {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-done)], done)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return done, werr
			}
			done += int64(n)
		}
		if err != nil && !(errors.Is(err, io.EOF) && done == size) {
			return done, fmt.Errorf("cat %q at %d: %w", p, done, err)
		}
	}
	return done, nil
}

// fileReader reads one stream under the volume lock and recover.
type fileReader struct {
	ctx context.Context // of Open
	fs  *FS
	s   *stream
}

func (f *fileReader) ReadAt(p []byte, off int64) (int, error) {
	var n int
	err := f.fs.do(f.ctx, "read", func() error {
		var err error
		n, err = f.s.readAt(p, off)
		return err
	})
	return n, err
}
