package clustere2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

// BenchmarkClusterIngest backs up a distinct 64 MiB disk (or
// SHADOWVAULT_BENCH_DISK_MIB) through each of
// 1, 2 and 3 nodes at once (16 MiB packs, a 1 s refresh), and a single
// server as the baseline. It reports the throughput per node and the
// coordination: index bytes and PUTs per GiB stored, and the refresh's
// requests per second and duration per node. On 2 cores the nodes share
// the CPU: what scales is the overhead per node, not the total.
//
//	go test -run ^$ -bench ClusterIngest -benchtime 3x ./internal/clustere2e/
func BenchmarkClusterIngest(b *testing.B) {
	size := 64 << 20
	if mib, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_DISK_MIB")); err == nil && mib > 0 {
		size = mib << 20
	}
	for _, tc := range []struct {
		name   string
		nodes  int
		single bool
	}{{"single", 1, true}, {"nodes=1", 1, false}, {"nodes=2", 2, false}, {"nodes=3", 3, false}} {
		b.Run(tc.name, func(b *testing.B) {
			c := newClusterOf(b, tc.nodes, 16<<20, repo.ClusterOptions{Refresh: time.Second, Lease: 30 * time.Second}, tc.single, nil)
			disks := make([][]byte, tc.nodes)
			ctx := context.Background()
			var took time.Duration
			start := time.Now()
			b.ResetTimer()
			for i := range b.N {
				for k := range disks {
					disks[k] = random(uint64(1000*i+k), size)
				}
				b.StartTimer()
				t0 := time.Now()
				var wg sync.WaitGroup
				for k, n := range c.nodes {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := n.backup(ctx, fmt.Sprintf("vm%d", k), disks[k]); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				took += time.Since(t0)
				b.StopTimer()
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(size)*float64(b.N)/took.Seconds()/1e6, "MB/s/node")
			b.SetBytes(int64(size) * int64(tc.nodes))
			if tc.single {
				return
			}
			var pub, pubBytes, lists, gets, refreshes int64
			var refreshSecs float64
			for _, n := range c.nodes {
				st, _ := n.Repo.ClusterStats()
				pub += st.Published
				pubBytes += st.PublishedBytes
				lists += st.Lists
				gets += st.Gets
				refreshes += st.Refreshes
				refreshSecs += st.LastRefreshSecs
			}
			gib := float64(size) * float64(b.N) * float64(tc.nodes) / (1 << 30)
			b.ReportMetric(float64(pubBytes)/gib/1024, "idxKiB/GiB")
			b.ReportMetric(float64(pub)/gib, "idxPUT/GiB")
			b.ReportMetric(float64(lists+gets)/float64(tc.nodes)/elapsed.Seconds(), "refresh-req/s/node")
			b.ReportMetric(refreshSecs/float64(tc.nodes)*1000, "refresh-ms")
		})
	}
}
