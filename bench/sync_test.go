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
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/replicate"
)

// BenchmarkSync measures replication between two local repositories
// (encrypted, with different keys, so every chunk is re-hashed and
// re-encrypted): a source test server holds the corpus's VMs, and a sync
// pulls them over loopback HTTP into an empty target ("first", MB/s of
// the VHDX files); "push" has the source push them instead. "changed" then backs up VM 1 again after its 3%
// change and times the second sync; it reports the bytes sent, and the
// bytes of the modified regions (changed_bytes) to compare them with.
func BenchmarkSync(b *testing.B) {
	c, err := BuildCorpus(filepath.Join(cacheDir(), "bench-corpus"), DefaultCorpusParams(), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var input int64
	for _, vm := range c.VMs {
		st, err := os.Stat(vm.VHDX)
		if err != nil {
			b.Fatal(err)
		}
		input += st.Size()
	}
	backup := func(b *testing.B, s *testserver.Server, vm, file string) {
		_, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
			Host: "HV01", VM: vm, Type: "full", Consistency: "application",
			Disks: []string{file}, ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, GuestHints: true,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	sync := func(b *testing.B, src, dst *testserver.Server) replicate.Stats {
		_, tok, err := src.Tokens.Create(apiv1.RoleReplication, "")
		if err != nil {
			b.Fatal(err)
		}
		st, err := replicate.Run(context.Background(), &replicate.HTTPSource{URL: src.URL, Token: tok},
			replicate.Local{R: dst.Repo}, replicate.Options{Logger: quiet}, nil)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	b.StopTimer()
	src := testserver.Start(b, testserver.Options{PackSize: 16 << 20, Encrypted: true})
	for i, vm := range c.VMs {
		backup(b, src, fmt.Sprintf("VM%d", i+1), vm.VHDX)
	}
	b.StartTimer()
	b.Run("first", func(b *testing.B) {
		b.SetBytes(input)
		var st replicate.Stats
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dst := testserver.Start(b, testserver.Options{PackSize: 16 << 20, Encrypted: true})
			b.StartTimer()
			st = sync(b, src, dst)
		}
		b.ReportMetric(float64(st.BytesSent), "bytes_sent")
		b.ReportMetric(float64(st.ChunksSent), "chunks_sent")
	})
	b.Run("push", func(b *testing.B) {
		b.SetBytes(input)
		var st replicate.Stats
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dst := testserver.Start(b, testserver.Options{PackSize: 16 << 20, Encrypted: true})
			_, tok, err := dst.Tokens.Create(apiv1.RolePush, "")
			if err != nil {
				b.Fatal(err)
			}
			target := &replicate.HTTPTarget{HTTPSource: replicate.HTTPSource{URL: dst.URL, Token: tok}}
			b.StartTimer()
			if st, err = replicate.Run(context.Background(), replicate.LocalSource{R: src.Repo}, target, replicate.Options{Logger: quiet}, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(st.BytesSent), "bytes_sent")
	})
	b.Run("changed", func(b *testing.B) {
		var st replicate.Stats
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s := testserver.Start(b, testserver.Options{PackSize: 16 << 20, Encrypted: true})
			for j, vm := range c.VMs {
				backup(b, s, fmt.Sprintf("VM%d", j+1), vm.VHDX)
			}
			dst := testserver.Start(b, testserver.Options{PackSize: 16 << 20, Encrypted: true})
			sync(b, s, dst)
			backup(b, s, "VM1", c.Changed.VHDX)
			b.StartTimer()
			st = sync(b, s, dst)
		}
		b.ReportMetric(float64(st.BytesSent), "bytes_sent")
		b.ReportMetric(float64(st.ChunksSent), "chunks_sent")
		b.ReportMetric(float64(c.ChangedBytes), "changed_bytes")
	})
}
