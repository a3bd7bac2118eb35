package vhd_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// hostileLogBound is a generous bound for parsing one hostile log: a
// linear replay takes well under a second, the quadratic one took minutes.
const hostileLogBound = 20 * time.Second

// parseWithin parses img in a goroutine and fails if that takes longer
// than hostileLogBound (the goroutine is then left running).
func parseWithin(t *testing.T, img string, opts vhd.Options) (*vhd.Info, error) {
	t.Helper()
	type result struct {
		info vhd.Info
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		p, err := parseFile(t, img, opts)
		var r result
		r.err = err
		if p != nil {
			r.info = p.info
		}
		done <- r
	}()
	select {
	case r := <-done:
		t.Logf("%s parsed in %v", filepath.Base(img), time.Since(start).Round(time.Millisecond))
		return &r.info, r.err
	case <-time.After(hostileLogBound):
		t.Fatalf("%s: parsing takes longer than %v", filepath.Base(img), hostileLogBound)
		return nil, nil
	}
}

func TestHostileLogZeroDescriptors(t *testing.T) {
	for _, c := range []struct {
		name   string
		logLen int64
	}{{"4MiB", 4 << 20}, {"64MiB", 64 << 20}} {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.logLen > 4<<20 {
				t.Skip("short")
			}
			img := filepath.Join(t.TempDir(), "zerolog.vhdx")
			// 126 descriptors fill one log sector: the log is all zero
			// descriptors, each at an offset of its own.
			vhdtest.HostileLogVHDX(t, img, 10<<20, c.logLen, 126, false)
			info, err := parseWithin(t, img, vhd.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !info.LogReplayed {
				t.Fatalf("log not replayed: %+v", info)
			}
		})
	}
}

func TestHostileLogChecksumStorm(t *testing.T) {
	// Every sector claims to start an entry as long as the whole log.
	img := filepath.Join(t.TempDir(), "crcstorm.vhdx")
	vhdtest.HostileLogVHDX(t, img, 10<<20, 64<<20, 0, true)
	info, err := parseWithin(t, img, vhd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LogReplayed {
		t.Fatalf("a log without valid entries was replayed")
	}
}

// cancelAfter cancels a context once n bytes were read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	if c.n -= int64(m); c.n <= 0 {
		c.cancel()
	}
	return m, err
}

func TestHostileLogCancel(t *testing.T) {
	const logLen = 64 << 20
	img := filepath.Join(t.TempDir(), "zerolog.vhdx")
	vhdtest.HostileLogVHDX(t, img, 10<<20, logLen, 126, false)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The client goes away as soon as the whole log was received.
	r := &cancelAfter{r: f, n: 1<<20 + logLen, cancel: cancel}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		s, err := vhd.NewStream(r, vhd.Options{Context: ctx})
		if err == nil {
			for err == nil {
				_, err = s.Next()
			}
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		t.Logf("stopped %v after the cancel", time.Since(start).Round(time.Millisecond))
	case <-time.After(hostileLogBound):
		t.Fatalf("parsing goes on after the context was cancelled")
	}
}
