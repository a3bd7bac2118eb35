package nbd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"
)

// A test client of the protocol, written from the specification, over
// net.Pipe to ServeConn.

type testClient struct {
	t    *testing.T
	c    net.Conn
	done chan error // ServeConn's result
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SHADOWVAULT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// dial starts ServeConn of s on one end of a pipe and returns a client on
// the other.
func dial(t *testing.T, ctx context.Context, s *Server) *testClient {
	t.Helper()
	cs, ss := net.Pipe()
	tc := &testClient{t: t, c: cs, done: make(chan error, 1)}
	go func() { tc.done <- s.ServeConn(ctx, ss) }()
	cs.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() {
		cs.Close()
		select {
		case <-tc.done:
		case <-time.After(10 * time.Second):
			t.Error("ServeConn did not return after the client closed")
		}
	})
	return tc
}

func (tc *testClient) read(n int) []byte {
	tc.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(tc.c, b); err != nil {
		tc.t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func (tc *testClient) write(b []byte) {
	tc.t.Helper()
	if _, err := tc.c.Write(b); err != nil {
		tc.t.Fatalf("write: %v", err)
	}
}

// greet reads the greeting and answers with flags.
func (tc *testClient) greet(flags clientFlags) {
	tc.t.Helper()
	g := tc.read(18)
	if binary.BigEndian.Uint64(g) != magicInit || binary.BigEndian.Uint64(g[8:]) != magicOption {
		tc.t.Fatalf("greeting %x", g)
	}
	if hf := handshakeFlags(binary.BigEndian.Uint16(g[16:])); hf != handshakeFixedNewstyle|handshakeNoZeroes {
		tc.t.Fatalf("handshake flags %#x", hf)
	}
	tc.write(binary.BigEndian.AppendUint32(nil, uint32(flags)))
}

func (tc *testClient) sendOption(opt option, data []byte) {
	tc.t.Helper()
	b := binary.BigEndian.AppendUint64(nil, magicOption)
	b = binary.BigEndian.AppendUint32(b, uint32(opt))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	tc.write(append(b, data...))
}

type optReply struct {
	opt  option
	typ  replyType
	data []byte
}

func (tc *testClient) optionReply() optReply {
	tc.t.Helper()
	h := tc.read(20)
	if m := binary.BigEndian.Uint64(h); m != magicOptionReply {
		tc.t.Fatalf("option reply magic %#x", m)
	}
	r := optReply{opt: option(binary.BigEndian.Uint32(h[8:])), typ: replyType(binary.BigEndian.Uint32(h[12:]))}
	r.data = tc.read(int(binary.BigEndian.Uint32(h[16:])))
	return r
}

func infoData(name string, reqs ...infoType) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(reqs)))
	for _, r := range reqs {
		b = binary.BigEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// exportInfo is what NBD_OPT_INFO or NBD_OPT_GO told.
type exportInfo struct {
	size                   uint64
	flags                  transmissionFlags
	name, description      string
	minBS, prefBS, maxBS   uint32
	haveName, haveBlockSiz bool
}

// info sends opt (INFO or GO) for name and reads the replies up to the
// final one, which it returns with what the NBD_REP_INFO items said.
func (tc *testClient) info(opt option, name string, reqs ...infoType) (exportInfo, optReply) {
	tc.t.Helper()
	tc.sendOption(opt, infoData(name, reqs...))
	var ei exportInfo
	for {
		r := tc.optionReply()
		if r.opt != opt {
			tc.t.Fatalf("reply to %v, want %v", r.opt, opt)
		}
		if r.typ != repInfo {
			return ei, r
		}
		switch infoType(binary.BigEndian.Uint16(r.data)) {
		case infoExport:
			if len(r.data) != 12 {
				tc.t.Fatalf("NBD_INFO_EXPORT of %d bytes", len(r.data))
			}
			ei.size, ei.flags = binary.BigEndian.Uint64(r.data[2:]), transmissionFlags(binary.BigEndian.Uint16(r.data[10:]))
		case infoName:
			ei.name, ei.haveName = string(r.data[2:]), true
		case infoDescription:
			ei.description = string(r.data[2:])
		case infoBlockSize:
			if len(r.data) != 14 {
				tc.t.Fatalf("NBD_INFO_BLOCK_SIZE of %d bytes", len(r.data))
			}
			ei.minBS, ei.prefBS, ei.maxBS = binary.BigEndian.Uint32(r.data[2:]), binary.BigEndian.Uint32(r.data[6:]), binary.BigEndian.Uint32(r.data[10:])
			ei.haveBlockSiz = true
		}
	}
}

// open greets and chooses name with NBD_OPT_GO.
func (tc *testClient) open(name string) exportInfo {
	tc.t.Helper()
	tc.greet(clientFixedNewstyle | clientNoZeroes)
	ei, r := tc.info(optGo, name, infoBlockSize)
	if r.typ != repAck {
		tc.t.Fatalf("NBD_OPT_GO %q: reply %#x %q", name, r.typ, r.data)
	}
	return ei
}

func requestBytes(cmd command, flags commandFlags, handle, off uint64, length uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, magicRequest)
	b = binary.BigEndian.AppendUint16(b, uint16(flags))
	b = binary.BigEndian.AppendUint16(b, uint16(cmd))
	b = binary.BigEndian.AppendUint64(b, handle)
	b = binary.BigEndian.AppendUint64(b, off)
	return binary.BigEndian.AppendUint32(b, length)
}

func (tc *testClient) request(cmd command, handle, off uint64, length uint32) {
	tc.t.Helper()
	tc.write(requestBytes(cmd, 0, handle, off, length))
}

// reply reads a simple reply header.
func (tc *testClient) reply() (errno, uint64) {
	tc.t.Helper()
	h := tc.read(16)
	if m := binary.BigEndian.Uint32(h); m != magicSimpleReply {
		tc.t.Fatalf("reply magic %#x", m)
	}
	return errno(binary.BigEndian.Uint32(h[4:])), binary.BigEndian.Uint64(h[8:])
}

// readAt reads n bytes at off with one request and returns the data, or
// the error of the reply.
func (tc *testClient) readAt(handle, off uint64, n uint32) ([]byte, errno) {
	tc.t.Helper()
	tc.request(cmdRead, handle, off, n)
	ec, h := tc.reply()
	if h != handle {
		tc.t.Fatalf("reply for handle %d, want %d", h, handle)
	}
	if ec != errOK {
		return nil, ec
	}
	return tc.read(int(n)), ec
}

// closed checks that the server closed the connection (after whatever it
// had still to send).
func (tc *testClient) closed() {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(tc.c)
	if err != nil && !errors.Is(err, io.EOF) {
		tc.t.Fatalf("the server did not close the connection: %v (after %d bytes)", err, len(rest))
	}
}

// pattern is n bytes of a fixed pseudo-random content.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

func memExport(name string, data []byte) *Export {
	return &Export{Name: name, Description: "test disk " + name, Size: int64(len(data)), Data: bytes.NewReader(data)}
}
