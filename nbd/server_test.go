package nbd

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestServe: Serve refuses clients past MaxConnections, and when its
// context ends it closes the listener and the connected clients and
// returns.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := testServer(t, memExport("d", pattern(4096)))
	s.MaxConnections = 1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()

	first, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	tc := &testClient{t: t, c: first}
	first.SetDeadline(time.Now().Add(10 * time.Second))
	tc.open("d")
	if _, ec := tc.readAt(1, 0, 4096); ec != errOK {
		t.Fatal(ec)
	}

	second, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := io.ReadFull(second, make([]byte, 18)); !errors.Is(err, io.EOF) {
		t.Fatalf("a client past MaxConnections got %d bytes: %v", n, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return when its context ended")
	}
	if _, err := first.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connected client was not disconnected at shutdown")
	}
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after Serve returned")
	}
}

func TestServeNeedsExports(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	if err := (&Server{}).Serve(context.Background(), l); err == nil {
		t.Fatal("Serve without Exports started")
	}
}

func TestExportCheck(t *testing.T) {
	for _, e := range []*Export{
		nil,
		{Name: "x", Size: 10},
		{Name: "x", Size: -1, Data: &slowData{}},
		{Name: string(make([]byte, 5000)), Size: 1, Data: &slowData{}},
		{Name: "\xff", Size: 1, Data: &slowData{}},
	} {
		if err := e.Check(); !errors.Is(err, ErrBadExport) {
			t.Errorf("Check(%+v) = %v", e, err)
		}
	}
	// A bad export is unknown to clients: NBD_OPT_GO is refused.
	tc := dial(t, context.Background(), testServer(t, &Export{Name: "nodata", Size: 1}))
	tc.greet(clientFixedNewstyle)
	if _, r := tc.info(optGo, "nodata"); r.typ != repErrUnknown {
		t.Fatalf("NBD_OPT_GO of an export without data: %#x", r.typ)
	}
}
