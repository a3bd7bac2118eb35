package nbd

import (
	"bytes"
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadEdgeCases(t *testing.T) {
	data := pattern(3 << 20)
	tc := dial(t, context.Background(), testServer(t, memExport("d", data)))
	tc.open("d")
	for _, c := range []struct {
		name   string
		off    uint64
		length uint32
		want   errno
	}{
		{"the start", 0, 4096, errOK},
		{"unaligned", 12345, 777, errOK},
		{"the end", 3<<20 - 1000, 1000, errOK},
		{"nothing at the end", 3 << 20, 0, errOK},
		{"past the end", 3<<20 - 1000, 1001, errInval},
		{"beyond the end", 3<<20 + 1, 1, errInval},
		{"an offset that overflows", math.MaxUint64 - 10, 4096, errInval},
		{"more than the maximum", 0, MaxBlockSize + 1, errInval},
		{"far more than the maximum", 0, math.MaxUint32, errInval},
	} {
		got, ec := tc.readAt(42, c.off, c.length)
		if ec != c.want {
			t.Fatalf("%s: %v, want %v", c.name, ec, c.want)
		}
		if ec == errOK && !bytes.Equal(got, data[c.off:c.off+uint64(c.length)]) {
			t.Fatalf("%s: wrong data", c.name)
		}
	}
	// A flag that was not offered (DF) is refused.
	tc.write(requestBytes(cmdRead, 1<<2, 5, 0, 512))
	if ec, _ := tc.reply(); ec != errInval {
		t.Fatalf("read with NBD_CMD_FLAG_DF: %v", ec)
	}
}

// TestUnalignedSize: an export of a size that is not a multiple of 512
// is offered rounded up, reading zeros past its end.
func TestUnalignedSize(t *testing.T) {
	data := pattern(1000)
	tc := dial(t, context.Background(), testServer(t, memExport("d", data)))
	if ei := tc.open("d"); ei.size != 1024 {
		t.Fatalf("an export of 1000 bytes is offered with %d", ei.size)
	}
	got, ec := tc.readAt(1, 900, 124)
	if ec != errOK || !bytes.Equal(got, append(data[900:], make([]byte, 24)...)) {
		t.Fatalf("read across the end of the data: %v %x", ec, got)
	}
	if got, ec = tc.readAt(2, 1000, 24); ec != errOK || !bytes.Equal(got, make([]byte, 24)) {
		t.Fatalf("read of the padding: %v %x", ec, got)
	}
	if _, ec = tc.readAt(3, 1000, 25); ec != errInval {
		t.Fatalf("read past the padding: %v", ec)
	}
}

// TestReadOnly: writes are refused, their payload drained; the export is
// unchanged and the connection still works.
func TestReadOnly(t *testing.T) {
	data := pattern(1 << 20)
	orig := bytes.Clone(data)
	tc := dial(t, context.Background(), testServer(t, memExport("d", data)))
	if ei := tc.open("d"); ei.flags&flagReadOnly == 0 {
		t.Fatal("the export is not flagged read-only")
	}
	tc.write(append(requestBytes(cmdWrite, cmdFlagFUA, 1, 0, 64<<10), bytes.Repeat([]byte{0x55}, 64<<10)...))
	if ec, h := tc.reply(); ec != errPerm || h != 1 {
		t.Fatalf("write: %v for handle %d, want EPERM", ec, h)
	}
	for i, c := range []struct {
		cmd  command
		want errno
	}{
		{cmdTrim, errPerm}, {cmdWriteZeroes, errPerm}, {cmdFlush, errOK},
		{cmdCache, errInval}, {cmdBlockStatus, errInval}, {command(42), errInval},
	} {
		length := uint32(4096)
		if c.cmd == cmdFlush {
			length = 0
		}
		tc.request(c.cmd, uint64(10+i), 0, length)
		if ec, h := tc.reply(); ec != c.want || h != uint64(10+i) {
			t.Fatalf("%v: %v (handle %d), want %v", c.cmd, ec, h, c.want)
		}
	}
	if got, ec := tc.readAt(2, 0, 64<<10); ec != errOK || !bytes.Equal(got, orig[:64<<10]) || !bytes.Equal(data, orig) {
		t.Fatalf("read after the refused write: %v", ec)
	}
	// A write larger than any request may be: the connection ends.
	tc.request(cmdWrite, 3, 0, MaxBlockSize+1)
	tc.closed()
	if err := <-tc.done; !errors.Is(err, ErrProtocol) {
		t.Fatalf("ServeConn after an oversized write: %v", err)
	}
	tc.done <- nil
}

func TestBadRequestMagic(t *testing.T) {
	tc := dial(t, context.Background(), testServer(t, memExport("d", pattern(4096))))
	tc.open("d")
	b := requestBytes(cmdRead, 0, 1, 0, 512)
	b[0] ^= 0xff
	tc.write(b)
	tc.closed()
	if err := <-tc.done; !errors.Is(err, ErrProtocol) {
		t.Fatalf("ServeConn after a bad request magic: %v", err)
	}
	tc.done <- nil
}

// slowData counts the reads running at once and can fail some.
type slowData struct {
	data          []byte
	delay         time.Duration
	failAt        int64 // reads at this offset fail
	running, peak atomic.Int32
}

func (d *slowData) ReadAt(p []byte, off int64) (int, error) {
	n := d.running.Add(1)
	defer d.running.Add(-1)
	for {
		old := d.peak.Load()
		if n <= old || d.peak.CompareAndSwap(old, n) {
			break
		}
	}
	time.Sleep(d.delay)
	if off == d.failAt {
		return 0, errors.New("injected failure")
	}
	return copy(p, d.data[off:]), nil
}

// TestPipelined: requests sent back to back are all answered, reads run
// in parallel (as many as ReadsInFlight), a failed read answers EIO, and
// NBD_CMD_DISC waits for the answers in flight.
func TestPipelined(t *testing.T) {
	d := &slowData{data: pattern(1 << 20), delay: 20 * time.Millisecond, failAt: 5 * 4096}
	s := testServer(t, &Export{Name: "d", Size: 1 << 20, Data: d})
	s.ReadsInFlight = 3
	tc := dial(t, context.Background(), s)
	tc.open("d")
	const n = 16
	var wg sync.WaitGroup
	wg.Go(func() {
		var b []byte
		for i := range n {
			b = append(b, requestBytes(cmdRead, 0, uint64(100+i), uint64(i*4096), 4096)...)
		}
		b = append(b, requestBytes(cmdDisc, 0, 0, 0, 0)...)
		if _, err := tc.c.Write(b); err != nil {
			t.Errorf("send the requests: %v", err)
		}
	})
	seen := map[uint64]bool{}
	for range n {
		ec, h := tc.reply()
		i := int(h) - 100
		if i < 0 || i >= n || seen[h] {
			t.Fatalf("reply for handle %d", h)
		}
		seen[h] = true
		if i == 5 {
			if ec != errIO {
				t.Fatalf("the failing read: %v, want EIO", ec)
			}
			continue
		}
		if got := tc.read(4096); ec != errOK || !bytes.Equal(got, d.data[i*4096:(i+1)*4096]) {
			t.Fatalf("read %d: %v", i, ec)
		}
	}
	wg.Wait()
	tc.closed()
	if err := <-tc.done; err != nil {
		t.Fatalf("ServeConn after NBD_CMD_DISC: %v", err)
	}
	tc.done <- nil
	if p := d.peak.Load(); p != 3 {
		t.Fatalf("%d reads ran at once, want 3", p)
	}
}

// TestShutdown: when the server's context ends, a connected client is
// disconnected and ServeConn returns.
func TestShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tc := dial(t, ctx, testServer(t, memExport("d", pattern(4096))))
	tc.open("d")
	if _, ec := tc.readAt(1, 0, 512); ec != errOK {
		t.Fatal(ec)
	}
	cancel()
	tc.closed()
	select {
	case err := <-tc.done:
		if err != nil {
			t.Fatalf("ServeConn at shutdown: %v", err)
		}
		tc.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn did not return at shutdown")
	}
}
