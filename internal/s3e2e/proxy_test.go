package s3e2e

import (
	"net"
	"sync"
	"testing"
)

// proxy is a TCP proxy in front of a server that a test can stall (bytes
// stop flowing, connections stay open: a wedged or hopelessly slow
// server) or make refuse (every connection is cut, new ones are closed at
// once), and heal again.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup // accept loop and pipes

	mu       sync.Mutex
	stalled  chan struct{}         // guarded by mu; non-nil while stalled, closed to resume
	refusing bool                  // guarded by mu
	conns    map[net.Conn]struct{} // guarded by mu
}

// startProxy listens on 127.0.0.1 and forwards to target until tb ends.
func startProxy(tb testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Stall stops forwarding; connections stay open.
func (p *proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled == nil {
		p.stalled = make(chan struct{})
	}
}

// Refuse cuts every connection and closes new ones as they come.
func (p *proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = true
	p.resumeLocked()
	for c := range p.conns {
		c.Close()
	}
}

// Heal forwards again.
func (p *proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = false
	p.resumeLocked()
}

func (p *proxy) resumeLocked() {
	if p.stalled != nil {
		close(p.stalled)
		p.stalled = nil
	}
}

func (p *proxy) close() {
	p.Refuse()
	p.ln.Close()
	p.wg.Wait()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		if refusing {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, holding each buffer while stalled, and closes
// both when either side ends.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
		src.Close()
		dst.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.stalled
			p.mu.Unlock()
			if gate != nil {
				<-gate
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
