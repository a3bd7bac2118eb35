package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// errOutputExists: the -o target exists and --force was not given.
var errOutputExists = errors.New("output file exists")

// outFile is where a download verb (restore, cat) writes: stdout, or a
// temporary file beside the -o target that replaces the target only once
// the download completed and is on disk. Aligned 64 KiB blocks of zeros
// are left as holes in the file (a restored disk is sparse where it is
// empty). Whatever fails, a file that was
// there before is left as it was and the temporary file is removed.
type outFile struct {
	path  string   // the -o target; "" for stdout
	force bool     // replace an existing target
	tmp   *os.File // the temporary file beside path
	w     io.Writer
	holes *sparseFile // writes into tmp, zero blocks left as holes
}

// openOutput prepares the -o target path ("" or "-": stdout). Without force
// it refuses an existing target; with force it refuses only what is not a
// regular file (a directory, a device): it would be replaced, not written.
func openOutput(path string, force bool) (*outFile, error) {
	if path == "" || path == "-" {
		return &outFile{w: os.Stdout}, nil
	}
	mode := fs.FileMode(0o600)
	fi, err := os.Lstat(path)
	switch {
	case err == nil && !force:
		return nil, fmt.Errorf("%w: %s: not overwriting it; pass --force to replace it", errOutputExists, path)
	case err == nil && !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0:
		return nil, fmt.Errorf("%w: %s is not a regular file: not replacing it (write to stdout to fill a device)", errOutputExists, path)
	case err == nil:
		mode = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return nil, err
	}
	if mode != 0o600 {
		if err := f.Chmod(mode); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
	}
	holes := newSparseFile(f)
	return &outFile{path: path, force: force, tmp: f, w: holes, holes: holes}, nil
}

func (o *outFile) Write(p []byte) (int, error) { return o.w.Write(p) }

// ReadFrom copies a download into the output (io.Copy calls it): into the
// file through the sparse file's parallel copy, to stdout in large writes.
func (o *outFile) ReadFrom(r io.Reader) (int64, error) {
	if o.holes != nil {
		return o.holes.ReadFrom(r)
	}
	return io.CopyBuffer(writerOnly{o.w}, r, make([]byte, copyBuf))
}

// commit makes the download the target: fsync, then rename (with force) or
// link (without: never replaces a file that appeared meanwhile) onto it,
// then fsync the directory. On any error the temporary file is removed.
func (o *outFile) commit() error {
	if o.tmp == nil {
		return nil
	}
	tmp := o.tmp.Name()
	err := o.holes.finish()
	if err == nil {
		err = o.tmp.Sync()
	}
	if cerr := o.tmp.Close(); err == nil {
		err = cerr
	}
	o.tmp = nil
	if err == nil {
		err = o.place(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(o.path)); err == nil {
		d.Sync() // best effort: not every platform syncs directories
		d.Close()
	}
	return nil
}

func (o *outFile) place(tmp string) error {
	if o.force {
		return os.Rename(tmp, o.path)
	}
	err := os.Link(tmp, o.path)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s appeared during the download: not overwriting it; pass --force to replace it", errOutputExists, o.path)
	}
	// No hard links here (some network or FUSE file systems): check, then rename.
	if _, serr := os.Lstat(o.path); serr == nil {
		return fmt.Errorf("%w: %s appeared during the download: not overwriting it; pass --force to replace it", errOutputExists, o.path)
	}
	return os.Rename(tmp, o.path)
}

// abort discards the download: the temporary file goes, the target stays.
func (o *outFile) abort() {
	if o.tmp == nil {
		return
	}
	o.tmp.Close()
	os.Remove(o.tmp.Name())
	o.tmp = nil
}
