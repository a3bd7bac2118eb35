package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// corpusVersion changes whenever the recipe changes, so that cached corpora
// built by an older recipe are not reused.
const corpusVersion = 2

// CorpusParams size a benchmark corpus: VMs disk images (MBR, one NTFS
// partition) that hold the same OS-like files from the machine's /usr in a
// different order each, plus UniqueMiB of random data of their own.
type CorpusParams struct {
	VMs       int      // number of VMs (disks)
	SharedMiB int      // budget of the shared file set
	UniqueMiB int      // unique random data per VM
	DiskMiB   int      // virtual disk size
	Every     int      // take every k-th candidate file (sorted by path)
	Roots     []string // where the shared files come from
	// ChangePercent of VM 1's shared files are modified (in place, same
	// size) in its "changed" image.
	ChangePercent int
}

// DefaultCorpusParams is the quick corpus (3 VMs of 512 MiB holding
// 96 MiB shared and 32 MiB unique data each), scaled by
// SHADOWVAULT_BENCH_SCALE (an integer, default 1; 3 is about the corpus of
// the design notes: 288 MiB shared and 96 MiB unique per VM) and with the VM
// count from SHADOWVAULT_BENCH_VMS.
func DefaultCorpusParams() CorpusParams {
	scale := envInt("SHADOWVAULT_BENCH_SCALE", 1)
	p := CorpusParams{
		VMs:           envInt("SHADOWVAULT_BENCH_VMS", 3),
		SharedMiB:     96 * scale,
		UniqueMiB:     32 * scale,
		Every:         3,
		Roots:         []string{"/usr/lib", "/usr/share"},
		ChangePercent: 3,
	}
	p.DiskMiB = 256 + 2*(p.SharedMiB+p.UniqueMiB)
	if p.DiskMiB%64 != 0 {
		p.DiskMiB += 64 - p.DiskMiB%64
	}
	return p
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// VMImage is one VM's disk, in both containers.
type VMImage struct {
	Name string // "vm1"
	VHD  string
	VHDX string
}

// Corpus is a built corpus.
type Corpus struct {
	Dir         string
	Params      CorpusParams
	SharedFiles int
	SharedBytes int64
	VMs         []VMImage
	// Changed is VM 1 again with ChangePercent of its files modified.
	Changed      VMImage
	ChangedFiles int
	ChangedBytes int64 // bytes of the modified regions
}

// sharedFile is a candidate OS file.
type sharedFile struct {
	Path string
	Size int64
}

// selectShared picks the shared set: regular files of 16 KiB..16 MiB under
// the roots, sorted by path, every k-th, until the budget is spent.
func selectShared(p CorpusParams) ([]sharedFile, error) {
	var all []sharedFile
	for _, root := range p.Roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil || fi.Size() < 16<<10 || fi.Size() > 16<<20 {
				return nil
			}
			if f, err := os.Open(path); err != nil {
				return nil
			} else {
				f.Close()
			}
			all = append(all, sharedFile{path, fi.Size()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// WalkDir is lexical per root; roots are taken in the given order.
	var out []sharedFile
	var total int64
	budget := int64(p.SharedMiB) << 20
	for i, f := range all {
		if (i+1)%p.Every != 0 {
			continue
		}
		if total+f.Size > budget {
			break
		}
		total += f.Size
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("corpus: no files of 16 KiB..16 MiB under %v", p.Roots)
	}
	return out, nil
}

// corpusKey names the cache directory: the parameters, the recipe version
// and the selected files (a package upgrade changes /usr, and the corpus).
func corpusKey(p CorpusParams, files []sharedFile) string {
	h := sha256.New()
	j, _ := json.Marshal(p)
	fmt.Fprintf(h, "v%d %s\n", corpusVersion, j)
	for _, f := range files {
		fmt.Fprintf(h, "%s %d\n", f.Path, f.Size)
	}
	return fmt.Sprintf("%dvm-%ds-%du-%dd-%s", p.VMs, p.SharedMiB, p.UniqueMiB, p.DiskMiB, hex.EncodeToString(h.Sum(nil))[:12])
}

// BuildCorpus returns the corpus for p, building it under cacheDir unless a
// complete one is cached there. logf (may be nil) reports progress.
//
// The file selection, the order of the files in each VM, the unique data
// and the changes are deterministic; the images are not byte for byte,
// because mkntfs and ntfscp record a random volume serial number and the
// current time in NTFS metadata (a few KiB per image).
func BuildCorpus(cacheDir string, p CorpusParams, logf func(string, ...any)) (*Corpus, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if p.VMs < 1 || p.Every < 1 || p.DiskMiB < 64 {
		return nil, fmt.Errorf("corpus: bad parameters %+v", p)
	}
	if min := 16 + (p.SharedMiB+p.UniqueMiB)*5/4; p.DiskMiB < min {
		return nil, fmt.Errorf("corpus: %d MiB disks cannot hold %d MiB of files", p.DiskMiB, p.SharedMiB+p.UniqueMiB)
	}
	for _, tool := range []string{"mkntfs", "ntfscp", "sfdisk", "qemu-img"} {
		if _, err := lookTool(tool); err != nil {
			return nil, err
		}
	}
	files, err := selectShared(p)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheDir, corpusKey(p, files))
	c := &Corpus{Dir: dir, Params: p}
	if b, err := os.ReadFile(filepath.Join(dir, "corpus.json")); err == nil && json.Unmarshal(b, c) == nil {
		logf("corpus: cached in %s", dir)
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c.SharedFiles = len(files)
	for _, f := range files {
		c.SharedBytes += f.Size
	}
	logf("corpus: building %d VMs in %s (shared set: %d files, %d bytes)", p.VMs, dir, len(files), c.SharedBytes)
	c.VMs = make([]VMImage, p.VMs)
	// Two builds at a time: ntfscp is one process per file.
	errs := make([]error, p.VMs)
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := 1; i <= p.VMs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i-1] = buildVM(c, files, i, logf)
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "corpus.json"), b, 0o644); err != nil {
		return nil, err
	}
	return c, nil
}

func lookTool(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, tool); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: run scripts/ensure-deps.sh", tool)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func run(stdin string, tool string, args ...string) error {
	path, err := lookTool(tool)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return nil
}

// buildVM builds VM i's images (and, for VM 1, the changed images).
func buildVM(c *Corpus, files []sharedFile, i int, logf func(string, ...any)) error {
	p := c.Params
	work, err := os.MkdirTemp(c.Dir, fmt.Sprintf("work%d-", i))
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// The order of the shared files, and the unique blob, depend on i only.
	order := append([]sharedFile(nil), files...)
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	uniq := filepath.Join(work, "unique.bin")
	if err := writeRandom(uniq, uint64(1000+i), int64(p.UniqueMiB)<<20); err != nil {
		return err
	}

	part := filepath.Join(work, "part.raw")
	partMiB := p.DiskMiB - 2
	if err := truncateNew(part, int64(partMiB)<<20); err != nil {
		return err
	}
	if err := run("", "mkntfs", "-F", "-Q", "-q", "-s", "512", "-L", fmt.Sprintf("CORPUS%d", i), "-p", "2048", "-H", "255", "-S", "63", part); err != nil {
		return err
	}
	names := make([]string, len(order))
	half := len(order) / 2
	for k, f := range order {
		if k == half {
			if err := run("", "ntfscp", "-q", part, uniq, "/unique.bin"); err != nil {
				return err
			}
		}
		names[k] = fmt.Sprintf("/%05d_%s", k+1, filepath.Base(f.Path))
		if err := run("", "ntfscp", "-q", part, f.Path, names[k]); err != nil {
			return err
		}
	}
	vm := VMImage{Name: fmt.Sprintf("vm%d", i)}
	if err := writeImages(p, part, i, filepath.Join(c.Dir, vm.Name), work, &vm); err != nil {
		return err
	}
	c.VMs[i-1] = vm
	logf("corpus: %s built (%d files)", vm.Name, len(order))
	if i != 1 {
		return nil
	}

	// The changed VM 1: the same partition with ChangePercent of the files
	// rewritten in place (same size, a few regions changed), so that the
	// NTFS layout stays and only those files' clusters differ.
	nchg := max(1, len(order)*p.ChangePercent/100)
	step := len(order) / nchg
	crng := rand.New(rand.NewPCG(77, 0xc4a9))
	var changed int64
	for j := 0; j < nchg; j++ {
		k := j * step
		data, err := os.ReadFile(order[k].Path)
		if err != nil {
			return err
		}
		changed += mutate(data, crng)
		mod := filepath.Join(work, "mod.bin")
		if err := os.WriteFile(mod, data, 0o644); err != nil {
			return err
		}
		if err := run("", "ntfscp", "-q", part, mod, names[k]); err != nil {
			return err
		}
	}
	ch := VMImage{Name: "vm1"}
	if err := writeImages(p, part, i, filepath.Join(c.Dir, "vm1-changed"), work, &ch); err != nil {
		return err
	}
	c.Changed, c.ChangedFiles, c.ChangedBytes = ch, nchg, changed
	logf("corpus: vm1 changed: %d files, %d bytes modified", nchg, changed)
	return nil
}

// mutate overwrites one 4 KiB region per 64 KiB of the file (a quarter of
// a small file at most) with random bytes, so that most of its chunks
// change, and returns how many bytes it changed.
func mutate(data []byte, rng *rand.Rand) int64 {
	var n int64
	regions := 1 + len(data)/(64<<10)
	for r := 0; r < regions; r++ {
		l := min(4096, len(data)/4)
		off := rng.IntN(len(data) - l + 1)
		for i := off; i < off+l; i++ {
			data[i] = byte(rng.Uint32())
		}
		n += int64(l)
	}
	return n
}

// writeImages puts the partition into an MBR disk and converts it to a
// dynamic VHD and a dynamic VHDX named base.vhd and base.vhdx.
func writeImages(p CorpusParams, part string, i int, base, work string, vm *VMImage) error {
	raw := filepath.Join(work, "disk.raw")
	os.Remove(raw)
	if err := truncateNew(raw, int64(p.DiskMiB)<<20); err != nil {
		return err
	}
	partMiB := p.DiskMiB - 2
	if err := run(fmt.Sprintf("label: dos\nlabel-id: 0x%08x\nstart=2048, size=%d, type=7, bootable\n", 0x1000+i, partMiB*2048), "sfdisk", "-q", raw); err != nil {
		return err
	}
	if err := copySparse(raw, part, 1<<20); err != nil {
		return err
	}
	vm.VHD, vm.VHDX = base+".vhd", base+".vhdx"
	for _, c := range []struct{ args []string }{
		{[]string{"convert", "-f", "raw", "-O", "vpc", "-o", "force_size=on", raw, vm.VHD + ".tmp"}},
		{[]string{"convert", "-f", "raw", "-O", "vhdx", raw, vm.VHDX + ".tmp"}},
	} {
		if err := run("", "qemu-img", c.args...); err != nil {
			return err
		}
	}
	if err := os.Rename(vm.VHD+".tmp", vm.VHD); err != nil {
		return err
	}
	if err := os.Rename(vm.VHDX+".tmp", vm.VHDX); err != nil {
		return err
	}
	return os.Remove(raw)
}

func truncateNew(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copySparse copies src into dst at off, skipping all-zero MiBs (dst is
// sparse and zero there already), like dd conv=notrunc,sparse.
func copySparse(dst, src string, off int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for pos := int64(0); ; pos += int64(len(buf)) {
		n, err := io.ReadFull(in, buf)
		if n > 0 && !allZero(buf[:n]) {
			if _, werr := out.WriteAt(buf[:n], off+pos); werr != nil {
				out.Close()
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// writeRandom writes n deterministic random bytes made from seed.
func writeRandom(path string, seed uint64, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, Incompressible(seed, n)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
