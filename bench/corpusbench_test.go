//go:build linux

package bench

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// BenchmarkCorpusBackup backs up the corpus's VMs in process (test server
// on a local repository, agent.Backup as the CLI runs it, guest hints on),
// so that `go test -bench CorpusBackup -cpuprofile` profiles client and
// server together: "first" into an empty repository, "unchanged" again.
// SHADOWVAULT_BENCH_HINTS=0 turns the guest hints off.
// SHADOWVAULT_BENCH_CPUPROFILE=PREFIX writes a CPU profile of the timed
// part alone (not the setup) to PREFIX-<sub-benchmark>.pprof.
func BenchmarkCorpusBackup(b *testing.B) {
	c, err := BuildCorpus(filepath.Join(cacheDir(), "bench-corpus"), DefaultCorpusParams(), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, container := range []string{"vhdx", "vhd"} {
		var files []string
		var input int64
		for _, vm := range c.VMs {
			f := vm.VHDX
			if container == "vhd" {
				f = vm.VHD
			}
			st, err := os.Stat(f)
			if err != nil {
				b.Fatal(err)
			}
			files, input = append(files, f), input+st.Size()
		}
		backupAll := func(b *testing.B, s *testserver.Server) {
			for i, f := range files {
				_, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
					Host: "HV01", VM: fmt.Sprintf("VM%d", i+1), Type: "full", Consistency: "application",
					Disks: []string{f}, ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, GuestHints: os.Getenv("SHADOWVAULT_BENCH_HINTS") != "0",
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, step := range []string{"first", "unchanged"} {
			b.Run(container+"/"+step, func(b *testing.B) {
				b.SetBytes(input)
				var stored int64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					s := testserver.Start(b, testserver.Options{PackSize: 16 << 20})
					if step == "unchanged" {
						backupAll(b, s)
					}
					stopProfile := profileStep(b)
					b.StartTimer()
					backupAll(b, s)
					b.StopTimer()
					stopProfile()
					stored = dirBytes(s.Dir)
					b.StartTimer()
				}
				if step == "first" {
					b.ReportMetric(float64(stored)/float64(input), "stored/input")
				}
			})
		}
	}
}

// profileStep starts a CPU profile of the timed part of b when
// SHADOWVAULT_BENCH_CPUPROFILE is set, and returns the function that stops
// it.
func profileStep(b *testing.B) func() {
	prefix := os.Getenv("SHADOWVAULT_BENCH_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s-%s.pprof", prefix, strings.NewReplacer("/", "-").Replace(b.Name())))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Logf("no step profile: %v", err) // -cpuprofile is on
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
