package repo

import (
	"fmt"
	"os"
	"path/filepath"
)

// Packs being filled and uploaded can live in files of a spill directory
// (Options.SpillDir) instead of in memory: a server ingesting several
// streams holds an open pack and one per upload slot, 18 MiB each in
// memory. In a file they cost the page cache, which the kernel can
// reclaim, and a small write buffer.

// spillPattern names the spill files.
const spillPattern = "pack-*.spill"

// spillFile is one pack's spill file. On systems that allow it the file
// is unlinked at once, so a crash leaves nothing behind.
type spillFile struct {
	f    *os.File
	name string // still to remove when closed; "" once unlinked
}

func newSpillFile(dir string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, spillPattern)
	if err != nil {
		return nil, fmt.Errorf("spill file: %w", err)
	}
	s := &spillFile{f: f, name: f.Name()}
	if os.Remove(s.name) == nil {
		s.name = ""
	}
	return s, nil
}

func (s *spillFile) close() {
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
	}
}

// cleanSpill removes the spill files a crash left in dir (where they could
// not be unlinked at once) and makes sure dir exists.
func cleanSpill(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("spill directory: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, spillPattern))
	for _, name := range old {
		os.Remove(name)
	}
	return nil
}
