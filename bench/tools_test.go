//go:build linux

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// resticVersion is the restic the ratio columns compare with, built by
// scripts/ensure-restic.sh; "restic-0.14" runs the restic on PATH.
const resticVersion = "v0.18.1"

// resticBinary is the restic 0.18.1 binary: SHADOWVAULT_BENCH_RESTIC, or
// where scripts/ensure-restic.sh builds it.
func resticBinary() string {
	if p := os.Getenv("SHADOWVAULT_BENCH_RESTIC"); p != "" {
		return p
	}
	return filepath.Join(cacheDir(), "restic-"+resticVersion, "restic")
}

// restic runs one restic binary. Both versions take the repository
// password from RESTIC_PASSWORD (0.18 would also take
// --insecure-no-password, 0.14 knows no such flag).
type restic struct {
	bin string
	env []string
}

func (r *restic) cmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(r.bin, append([]string{"-r", filepath.Join(dir, "repo"), "-q"}, args...)...)
	cmd.Env = append(os.Environ(), r.env...)
	cmd.Dir = dir
	return cmd
}
func (r *restic) init(dir string) error {
	r.env = []string{"RESTIC_PASSWORD=bench", "RESTIC_CACHE_DIR=" + filepath.Join(dir, "restic-cache")}
	_, _, err := runTool(r.cmd(dir, "init"))
	return err
}

func (r *restic) backup(dir string, files []string) (usage, error) {
	u, _, err := runTool(r.cmd(dir, append([]string{"backup", "--host", "HV01"}, files...)...))
	return u, err
}

func (r *restic) restore(dir, file, out string) (usage, error) {
	target := filepath.Join(dir, "restic-restore")
	u, _, err := runTool(r.cmd(dir, "restore", "latest", "--target", target, "--include", file))
	if err != nil {
		return u, err
	}
	defer os.RemoveAll(target)
	return u, os.Rename(filepath.Join(target, file), out)
}

func (r *restic) repoBytes(dir string) int64 { return dirBytes(filepath.Join(dir, "repo")) }
func (r *restic) close()                     {}

// --- borg ---

type borg struct {
	n int
}

func (b *borg) cmd(dir, cwd string, args ...string) *exec.Cmd {
	cmd := exec.Command("borg", args...)
	cmd.Env = append(os.Environ(), "BORG_BASE_DIR="+filepath.Join(dir, "borg-base"),
		"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes", "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes")
	cmd.Dir = cwd
	return cmd
}

func (b *borg) init(dir string) error {
	_, _, err := runTool(b.cmd(dir, dir, "init", "-e", "none", filepath.Join(dir, "repo")))
	return err
}

// backup archives the disks by their paths relative to dir ("disks/...").
func (b *borg) backup(dir string, files []string) (usage, error) {
	b.n++
	args := []string{"create", fmt.Sprintf("%s::b%d", filepath.Join(dir, "repo"), b.n)}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		args = append(args, rel)
	}
	u, _, err := runTool(b.cmd(dir, dir, args...))
	return u, err
}

func (b *borg) restore(dir, file, out string) (usage, error) {
	target := filepath.Join(dir, "borg-restore")
	os.MkdirAll(target, 0o755)
	defer os.RemoveAll(target)
	rel, _ := filepath.Rel(dir, file)
	u, _, err := runTool(b.cmd(dir, target, "extract", fmt.Sprintf("%s::b%d", filepath.Join(dir, "repo"), b.n), rel))
	if err != nil {
		return u, err
	}
	return u, os.Rename(filepath.Join(target, rel), out)
}

func (b *borg) repoBytes(dir string) int64 { return dirBytes(filepath.Join(dir, "repo")) }
func (b *borg) close()                     {}
