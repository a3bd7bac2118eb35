//go:build linux

package bench

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// Backup modes of the shadowvault systems after the first step.
const (
	modeDigests = "digests" // --incremental: the agent compares block digests
	modeRanges  = "ranges"  // --incremental --changed-ranges FILE
)

// digestTimeout bounds the wait for the block digests after a step.
const digestTimeout = 5 * time.Minute

// shadowvault runs `shadowvault serve` on a local repository (the stored
// bytes count the index and secrets too) and one `shadowvault backup`
// process per VM. The server is started afresh for every step (outside the
// timed part), as restic and borg are, so that its CPU time and peak RSS
// are those of the step alone. After a backup, outside the timed part, the
// harness waits until the server serves the block digests of every new
// snapshot disk, as they would be by the next night's backup.
type shadowvault struct {
	bin      string
	parallel int
	mode     string   // "" (full backups), modeDigests or modeRanges
	extra    []string // more backup flags
	srv      svServer
	snaps    map[string]string // disk name -> latest snapshot
	stepArgs [][]string        // per VM: the flags of this step
}

func (s *shadowvault) init(dir string) error {
	s.srv = svServer{bin: s.bin, dir: dir}
	s.snaps = map[string]string{}
	return nil
}

func (s *shadowvault) restoresVirtual() bool { return s.mode != "" }

// beforeStep sets each VM's flags: after the first step the incremental
// ones, with a changed-ranges file per VM in modeRanges: "[]" for a disk
// that is the same image as before, else where the image's virtual
// content differs from the previous one.
func (s *shadowvault) beforeStep(step int, prev, cur []string) error {
	s.stepArgs = make([][]string, len(cur))
	if step == 0 || s.mode == "" {
		return nil
	}
	for i := range cur {
		s.stepArgs[i] = []string{"--incremental"}
		if s.mode != modeRanges {
			continue
		}
		var cs []change
		if prev[i] != cur[i] {
			var err error
			if cs, err = virtualDiff(prev[i], cur[i]); err != nil {
				return err
			}
		}
		f := filepath.Join(s.srv.dir, fmt.Sprintf("ranges-step%d-vm%d.json", step+1, i+1))
		if err := writeChanges(f, cs); err != nil {
			return err
		}
		s.stepArgs[i] = append(s.stepArgs[i], "--changed-ranges", f)
	}
	return nil
}

func (s *shadowvault) close() { s.srv.stop() }

// svReceipt is what the harness reads of a receipt.
type svReceipt struct {
	Snapshot string `json:"snapshot"`
	Disks    []struct {
		Name         string `json:"name"`
		StreamBytes  int64  `json:"stream_bytes"`
		Base         string `json:"base"`
		ChangedBytes int64  `json:"changed_bytes"`
		NewBytes     int64  `json:"new_bytes"`
	} `json:"disks"`
}

func (s *shadowvault) backup(dir string, files []string) (usage, error) {
	if err := s.srv.start(); err != nil {
		return usage{}, err
	}
	t0 := time.Now()
	type res struct {
		u   usage
		rc  svReceipt
		err error
	}
	ch := make(chan res, len(files))
	par := s.parallel
	if par <= 0 {
		par = len(files)
	}
	sem := make(chan struct{}, par)
	for i, f := range files {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			args := s.srv.args("backup", "--host", "HV01", "--vm", fmt.Sprintf("VM%d", i+1))
			if i < len(s.stepArgs) {
				args = append(args, s.stepArgs[i]...)
			}
			args = append(append(args, s.extra...), f)
			u, out, err := runTool(exec.Command(s.bin, args...))
			var rc svReceipt
			if err == nil {
				err = json.Unmarshal(out, &rc)
			}
			if err == nil && i < len(s.stepArgs) && s.stepArgs[i] != nil {
				for _, d := range rc.Disks {
					if d.Base == "" {
						err = fmt.Errorf("VM%d: disk %s went up whole, not incrementally", i+1, d.Name)
					}
				}
			}
			ch <- res{u, rc, err}
		}()
	}
	u := usage{SentByDisk: map[string]int64{}}
	var firstErr error
	var refs []diskRef
	for range files {
		r := <-ch
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		u.CPU += r.u.CPU
		u.RSSClient = max(u.RSSClient, r.u.RSSClient)
		for _, d := range r.rc.Disks {
			s.snaps[d.Name] = r.rc.Snapshot
			u.SentByDisk[d.Name] += d.StreamBytes
			u.Sent += d.StreamBytes
			u.Changed += d.ChangedBytes
			u.New += d.NewBytes
			u.Incr = u.Incr || d.Base != ""
			refs = append(refs, diskRef{r.rc.Snapshot, d.Name})
		}
	}
	u.Wall = time.Since(t0)
	cpu, rss, err := s.srv.now()
	if err == nil && firstErr == nil {
		t1 := time.Now()
		err = s.srv.waitDigests(refs, digestTimeout)
		u.DigestWait = time.Since(t1)
	}
	total, _ := s.srv.stop()
	u.CPU += cpu
	u.RSSServer = rss
	u.DigestCPU = total - cpu
	if firstErr == nil {
		firstErr = err
	}
	return u, firstErr
}

// restore restores the original file, or for the incremental modes
// (whose disks after the first step are virtual content) a new VHDX.
func (s *shadowvault) restore(dir, file, out string) (usage, error) {
	if err := s.srv.start(); err != nil {
		return usage{}, err
	}
	format := "original"
	if s.mode != "" {
		format = "vhdx"
	}
	name := filepath.Base(file)
	u, _, err := runTool(exec.Command(s.bin, s.srv.args("restore", "--format", format, "-o", out, s.snaps[name], name)...))
	cpu, rss := s.srv.stop()
	u.CPU += cpu
	u.RSSServer = rss
	return u, err
}

func (s *shadowvault) repoBytes(dir string) int64 {
	return dirBytes(filepath.Join(dir, "repo"), filepath.Join(dir, "state"))
}
