package nbd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func testServer(t *testing.T, exports ...*Export) *Server {
	return &Server{Exports: ExportList(exports), Logger: testLogger(t)}
}

func TestGoInfoAndList(t *testing.T) {
	data := pattern(1 << 20)
	s := testServer(t, memExport("disk0.vhdx", data), memExport("other", pattern(4096)))
	tc := dial(t, context.Background(), s)
	tc.greet(clientFixedNewstyle | clientNoZeroes)

	// NBD_OPT_INFO tells and stays in the handshake.
	ei, r := tc.info(optInfo, "disk0.vhdx", infoName, infoDescription, infoBlockSize)
	if r.typ != repAck {
		t.Fatalf("NBD_OPT_INFO: %#x %q", r.typ, r.data)
	}
	want := exportInfo{size: 1 << 20, flags: flagHasFlags | flagReadOnly | flagSendFlush | flagCanMultiConn,
		name: "disk0.vhdx", description: "test disk disk0.vhdx", minBS: 1, prefBS: 4096, maxBS: 32 << 20,
		haveName: true, haveBlockSiz: true}
	if ei != want {
		t.Fatalf("NBD_OPT_INFO told %+v, want %+v", ei, want)
	}
	// The empty name is the first export; its canonical name is told.
	if ei, r = tc.info(optInfo, "", infoName); r.typ != repAck || ei.name != "disk0.vhdx" || ei.size != 1<<20 {
		t.Fatalf("NBD_OPT_INFO of the empty name: %+v, reply %#x", ei, r.typ)
	}
	if _, r = tc.info(optInfo, "nope"); r.typ != repErrUnknown {
		t.Fatalf("NBD_OPT_INFO of an unknown export: reply %#x, want NBD_REP_ERR_UNKNOWN", r.typ)
	}
	// Malformed: the name length runs past the data.
	tc.sendOption(optInfo, []byte{0, 0, 1, 0, 'x', 0, 0})
	if r = tc.optionReply(); r.typ != repErrInvalid {
		t.Fatalf("malformed NBD_OPT_INFO: reply %#x", r.typ)
	}

	tc.sendOption(optList, nil)
	var names []string
	for r = tc.optionReply(); r.typ == repServer; r = tc.optionReply() {
		n := binary.BigEndian.Uint32(r.data)
		names = append(names, string(r.data[4:4+n])+"="+string(r.data[4+n:]))
	}
	if r.typ != repAck || strings.Join(names, ",") != "disk0.vhdx=test disk disk0.vhdx,other=test disk other" {
		t.Fatalf("NBD_OPT_LIST: %q then %#x", names, r.typ)
	}
	tc.sendOption(optList, []byte("x"))
	if r = tc.optionReply(); r.typ != repErrInvalid {
		t.Fatalf("NBD_OPT_LIST with data: reply %#x", r.typ)
	}

	// NBD_OPT_GO enters transmission.
	if ei, r = tc.info(optGo, "other"); r.typ != repAck || ei.size != 4096 {
		t.Fatalf("NBD_OPT_GO: %+v, reply %#x", ei, r.typ)
	}
	if got, ec := tc.readAt(1, 0, 4096); ec != errOK || !bytes.Equal(got, pattern(4096)) {
		t.Fatalf("read after NBD_OPT_GO: %v", ec)
	}
}

// TestUnsupportedOptions: every option but the ones served is answered
// NBD_REP_ERR_UNSUP, its data skipped, and the handshake goes on.
func TestUnsupportedOptions(t *testing.T) {
	s := testServer(t, memExport("d", pattern(8192)))
	tc := dial(t, context.Background(), s)
	tc.greet(clientFixedNewstyle)
	for _, o := range []struct {
		opt  option
		data []byte
	}{
		{optStartTLS, nil},
		{optStructuredReply, nil},
		{optListMetaContext, infoData("d")},
		{optSetMetaContext, append(infoData("d"), "base:allocation"...)},
		{optExtendedHeaders, nil},
		{optPeekExport, nil},
		{option(99), bytes.Repeat([]byte{7}, 100<<10)}, // long data, skipped
	} {
		tc.sendOption(o.opt, o.data)
		if r := tc.optionReply(); r.opt != o.opt || r.typ != repErrUnsup {
			t.Fatalf("%v: reply to %v of type %#x, want NBD_REP_ERR_UNSUP", o.opt, r.opt, r.typ)
		}
	}
	// Option data past the limit is skipped, not held: NBD_REP_ERR_TOO_BIG.
	tc.sendOption(optGo, infoData(strings.Repeat("x", 20000)))
	if r := tc.optionReply(); r.typ != repErrTooBig {
		t.Fatalf("NBD_OPT_GO of 20000 bytes: reply %#x, want NBD_REP_ERR_TOO_BIG", r.typ)
	}
	if ei, r := tc.info(optGo, "d"); r.typ != repAck || ei.size != 8192 {
		t.Fatalf("NBD_OPT_GO after the refused options: %+v %#x", ei, r.typ)
	}
	if _, ec := tc.readAt(7, 4096, 4096); ec != errOK {
		t.Fatalf("read: %v", ec)
	}
}

func TestExportName(t *testing.T) {
	data := pattern(10240)
	s := testServer(t, memExport("d", data))
	for _, noZeroes := range []bool{false, true} {
		tc := dial(t, context.Background(), s)
		flags := clientFixedNewstyle
		if noZeroes {
			flags |= clientNoZeroes
		}
		tc.greet(flags)
		tc.sendOption(optExportName, []byte("d"))
		b := tc.read(10)
		if size, fl := binary.BigEndian.Uint64(b), transmissionFlags(binary.BigEndian.Uint16(b[8:])); size != 10240 || fl != exportFlags {
			t.Fatalf("NBD_OPT_EXPORT_NAME: size %d flags %#x", size, fl)
		}
		if !noZeroes && !bytes.Equal(tc.read(124), make([]byte, 124)) {
			t.Fatal("no 124 zero bytes after NBD_OPT_EXPORT_NAME")
		}
		if got, ec := tc.readAt(1, 9240, 1000); ec != errOK || !bytes.Equal(got, data[9240:]) {
			t.Fatalf("read the tail: %v", ec)
		}
	}
	// A client without fixed newstyle may send NBD_OPT_EXPORT_NAME only.
	tc := dial(t, context.Background(), s)
	tc.greet(0)
	tc.sendOption(optExportName, nil) // the default export
	if size := binary.BigEndian.Uint64(tc.read(134)); size != 10240 {
		t.Fatalf("the default export by NBD_OPT_EXPORT_NAME has size %d", size)
	}
}

// TestHandshakeViolations: what the server hangs up on.
func TestHandshakeViolations(t *testing.T) {
	s := testServer(t, memExport("d", pattern(4096)))
	for name, f := range map[string]func(tc *testClient){
		"unknown client flags": func(tc *testClient) { tc.greet(1 << 5) },
		"bad option magic": func(tc *testClient) {
			tc.greet(clientFixedNewstyle)
			tc.write(append(binary.BigEndian.AppendUint64(nil, 0x1122334455667788), make([]byte, 8)...))
		},
		"unknown export by NBD_OPT_EXPORT_NAME": func(tc *testClient) {
			tc.greet(clientFixedNewstyle)
			tc.sendOption(optExportName, []byte("nope"))
		},
		"export name too long": func(tc *testClient) {
			tc.greet(clientFixedNewstyle)
			b := binary.BigEndian.AppendUint64(nil, magicOption)
			b = binary.BigEndian.AppendUint32(b, uint32(optExportName))
			tc.write(binary.BigEndian.AppendUint32(b, 1<<30)) // and no data: not read
		},
		"an option without fixed newstyle": func(tc *testClient) {
			tc.greet(0)
			tc.sendOption(optList, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			tc := dial(t, context.Background(), s)
			tc.t = t
			f(tc)
			tc.closed()
			if err := <-tc.done; !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrUnknownExport) {
				t.Fatalf("ServeConn: %v", err)
			}
			tc.done <- nil // for the cleanup
		})
	}
}

func TestAbort(t *testing.T) {
	tc := dial(t, context.Background(), testServer(t, memExport("d", pattern(10))))
	tc.greet(clientFixedNewstyle)
	tc.sendOption(optAbort, nil)
	if r := tc.optionReply(); r.opt != optAbort || r.typ != repAck {
		t.Fatalf("NBD_OPT_ABORT: reply %v %#x", r.opt, r.typ)
	}
	tc.closed()
	if err := <-tc.done; err != nil {
		t.Fatalf("ServeConn after NBD_OPT_ABORT: %v", err)
	}
	tc.done <- nil
}

// TestHandshakeTimeout: a client that connects and says nothing is
// dropped; so is one that never finishes the handshake.
func TestHandshakeTimeout(t *testing.T) {
	s := testServer(t, memExport("d", pattern(10)))
	s.HandshakeTimeout = 200 * time.Millisecond
	for _, silent := range []bool{true, false} {
		tc := dial(t, context.Background(), s)
		start := time.Now()
		if !silent {
			tc.greet(clientFixedNewstyle)
			for time.Since(start) < 100*time.Millisecond {
				tc.sendOption(optStartTLS, nil)
				tc.optionReply()
			}
		} else {
			tc.read(18)
		}
		tc.closed()
		if err := <-tc.done; err == nil || time.Since(start) > 3*time.Second {
			t.Fatalf("silent=%v: ServeConn returned %v after %v", silent, err, time.Since(start))
		}
		tc.done <- nil
	}
}
