package bench

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
)

// BenchmarkForgetPrune backs up the corpus (three VMs, then VM 1 again
// after its files changed), then runs two realistic forget + prune cycles:
// keep the last snapshot of each VM, then retire VM 3 entirely. It reports
// the bytes each cycle frees and how long the prune takes.
func BenchmarkForgetPrune(b *testing.B) {
	c, err := BuildCorpus(filepath.Join(cacheDir(), "bench-corpus"), DefaultCorpusParams(), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := testserver.Start(b, testserver.Options{PackSize: 16 << 20})
		up := func(vm, path string) {
			_, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
				Host: "HV01", VM: vm, Type: "full", Consistency: "application", Disks: []string{path},
				ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, GuestHints: true,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, vm := range c.VMs {
			up(vm.Name, vm.VHDX)
		}
		// VM 1 again, changed; the disk keeps its name.
		changed := filepath.Join(b.TempDir(), filepath.Base(c.VMs[0].VHDX))
		if err := os.Link(c.Changed.VHDX, changed); err != nil {
			b.Fatal(err)
		}
		up(c.VMs[0].Name, changed)
		cycle := func(name string, forget func() error) {
			_, _, before, _ := s.Index.Counts()
			if err := forget(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			res, err := s.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond})
			took := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			_, _, after, _ := s.Index.Counts()
			b.ReportMetric(float64(res.BytesFreed)/1e6, name+"-freed-MB")
			b.ReportMetric(float64(before)/1e6, name+"-stored-before-MB")
			b.ReportMetric(float64(after)/1e6, name+"-stored-after-MB")
			b.ReportMetric(took.Seconds(), name+"-prune-s")
		}
		cycle("keeplast1", func() error {
			_, err := s.Repo.Forget(context.Background(), repo.ForgetRequest{Policy: &repo.Policy{KeepLast: 1}})
			return err
		})
		last := c.VMs[len(c.VMs)-1].Name
		cycle("retire-"+last, func() error {
			snaps, err := s.Repo.Snapshots(repo.Filter{VM: last})
			for _, m := range snaps {
				if err == nil {
					err = s.Repo.ForgetSnapshot(context.Background(), m.ID)
				}
			}
			return err
		})
	}
}
