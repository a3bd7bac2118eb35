//go:build linux

package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/shadowvault/shadowvault/vhd"
)

// runScenario runs the four steps. The disks are hard links in dir/disks
// (same names in every step, as a host's VM folder); before each re-backup
// they are touched, as the files of running VMs always have a new mtime, so
// that restic's and borg's file caches do not skip reading them.
func runScenario(sys system, c *Corpus, container, dir string) (*runResult, error) {
	disks := filepath.Join(dir, "disks")
	if err := os.MkdirAll(disks, 0o755); err != nil {
		return nil, err
	}
	pick := func(vm VMImage) string {
		if container == "vhd" {
			return vm.VHD
		}
		return vm.VHDX
	}
	var files, srcs []string // srcs[i]: the image files[i] is a link to
	link := func(src, name string) error {
		dst := filepath.Join(disks, name)
		os.Remove(dst)
		if err := os.Link(src, dst); err != nil {
			return copyFile(src, dst)
		}
		return nil
	}
	for _, vm := range c.VMs {
		name := vm.Name + "." + container
		if err := link(pick(vm), name); err != nil {
			return nil, err
		}
		files, srcs = append(files, filepath.Join(disks, name)), append(srcs, pick(vm))
	}
	touch := func() {
		now := time.Now()
		for _, f := range files {
			os.Chtimes(f, now, now)
		}
	}
	if err := sys.init(dir); err != nil {
		return nil, err
	}
	defer sys.close()
	var r runResult
	var err error
	prev := make([]string, len(srcs))
	for step := 0; step < 3; step++ {
		switch step {
		case 1:
			touch()
		case 2:
			if err := link(pick(c.Changed), filepath.Base(files[0])); err != nil {
				return nil, err
			}
			srcs[0] = pick(c.Changed)
			touch()
		}
		if st, ok := sys.(stepper); ok {
			if err := st.beforeStep(step, prev, srcs); err != nil {
				return nil, fmt.Errorf("step %d: %w", step+1, err)
			}
		}
		prev = slices.Clone(srcs)
		syscall.Sync()
		if r.Phase[step], err = sys.backup(dir, files); err != nil {
			return nil, fmt.Errorf("backup %d: %w", step+1, err)
		}
		for _, f := range files {
			st, _ := os.Stat(f)
			r.Phase[step].Input += st.Size()
		}
		syscall.Sync()
		r.Stored[step] = sys.repoBytes(dir)
	}
	r.StoredRatio = float64(r.Stored[0]) / float64(r.Phase[0].Input)

	out := filepath.Join(dir, "restored")
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	syscall.Sync()
	restored := filepath.Join(out, "disk")
	u, err := sys.restore(dir, files[0], restored)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	sum := func(p string) (string, error) { s, _, err := sha256File(p); return s, err }
	if v, ok := sys.(virtualRestorer); ok && v.restoresVirtual() {
		sum = virtualSHA
	}
	got, err := sum(restored)
	if err != nil {
		return nil, err
	}
	want, err := sum(files[0])
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(restored)
	if err != nil {
		return nil, err
	}
	same := got == want
	u.Input, u.Identical = st.Size(), &same
	r.Phase[3] = u
	os.RemoveAll(out)
	return &r, nil
}

// change is a range of virtual content, as --changed-ranges files hold
// them.
type change struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

func changesBytes(cs []change) int64 {
	var n int64
	for _, c := range cs {
		n += c.Length
	}
	return n
}

// writeChanges writes cs as a --changed-ranges file ("[]" when empty).
func writeChanges(path string, cs []change) error {
	if cs == nil {
		cs = []change{}
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// diffCache keeps virtualDiff's answers: the corpus images do not change
// during a run.
var diffCache struct {
	sync.Mutex
	m map[[2]string][]change
}

// virtualDiff returns the ranges of virtual content where image b differs
// from image a, compared by 4 KiB page, adjacent pages merged. Content
// beyond the end of a counts as changed.
func virtualDiff(a, b string) ([]change, error) {
	diffCache.Lock()
	defer diffCache.Unlock()
	key := [2]string{a, b}
	if cs, ok := diffCache.m[key]; ok {
		return cs, nil
	}
	ia, fa, err := openVirtual(a)
	if err != nil {
		return nil, err
	}
	defer fa.Close()
	ib, fb, err := openVirtual(b)
	if err != nil {
		return nil, err
	}
	defer fb.Close()
	const page, block = 4 << 10, 4 << 20
	var cs []change
	ba, bb := make([]byte, block), make([]byte, block)
	for off := int64(0); off < ib.Size(); off += block {
		n := min(block, ib.Size()-off)
		if _, err := ib.ReadAt(bb[:n], off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s at %d: %w", b, off, err)
		}
		clear(ba)
		if off < ia.Size() {
			if _, err := ia.ReadAt(ba[:min(n, ia.Size()-off)], off); err != nil && err != io.EOF {
				return nil, fmt.Errorf("%s at %d: %w", a, off, err)
			}
		}
		for p := int64(0); p < n; p += page {
			q := min(p+page, n)
			if off+p < ia.Size() && bytes.Equal(ba[p:q], bb[p:q]) {
				continue
			}
			if k := len(cs); k > 0 && cs[k-1].Offset+cs[k-1].Length == off+p {
				cs[k-1].Length += q - p
			} else {
				cs = append(cs, change{off + p, q - p})
			}
		}
	}
	if diffCache.m == nil {
		diffCache.m = map[[2]string][]change{}
	}
	diffCache.m[key] = cs
	return cs, nil
}

func openVirtual(p string) (*vhd.Image, *os.File, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	img, err := vhd.OpenImage(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	return img, f, nil
}

// virtualSHA is the SHA-256 of an image's virtual content.
func virtualSHA(p string) (string, error) {
	img, f, err := openVirtual(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(img, 0, img.Size())); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
