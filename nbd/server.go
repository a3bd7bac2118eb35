package nbd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Server's limits.
const (
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultReadsInFlight    = 4
	DefaultMaxConnections   = 64
	DefaultReadBudget       = 128 << 20
)

// Timeouts of the transmission phase.
const (
	// replyTimeout bounds the writing of one reply: a client that stops
	// reading its replies is dropped rather than holding buffers.
	replyTimeout = 2 * time.Minute
	// shutdownGrace is how long requests in flight may take to be
	// answered once the server shuts down.
	shutdownGrace = 5 * time.Second
)

// A Server serves Exports over NBD. Its fields are set before the first
// Serve or ServeConn and not changed after; a Server is not copied once
// used.
type Server struct {
	Exports Exports
	Logger  *slog.Logger // nil: no logging
	// HandshakeTimeout bounds the whole handshake (greeting to the chosen
	// export): a client that connects and sends nothing, or too slowly,
	// is dropped. Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// ReadsInFlight is how many reads of one connection run at once.
	// Default DefaultReadsInFlight.
	ReadsInFlight int
	// MaxConnections is how many clients Serve serves at once; further
	// ones are closed at once. Default DefaultMaxConnections.
	MaxConnections int
	// ReadBudget bounds the bytes of read buffers of all connections
	// together (at least MaxBlockSize). Default DefaultReadBudget.
	ReadBudget int64

	once   sync.Once
	budget *budget
	active atomic.Int64 // connections being served by Serve
}

func (s *Server) init() {
	s.once.Do(func() {
		n := s.ReadBudget
		if n <= 0 {
			n = DefaultReadBudget
		}
		s.budget = newBudget(max(n, MaxBlockSize))
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Serve accepts connections on l and serves each until ctx ends; then it
// closes l and every connection (requests in flight get a few seconds to
// be answered) and returns nil once all are done. It returns an error if
// l fails for another reason.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.Exports == nil {
		return errors.New("nbd: Serve: no Exports")
	}
	s.init()
	log := s.logger()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	limit := int64(orDefault(s.MaxConnections, DefaultMaxConnections))
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("nbd: accept: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			log.Warn("nbd: accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			continue
		}
		backoff = 0
		if s.active.Add(1) > limit {
			s.active.Add(-1)
			log.Warn("nbd: too many clients; connection refused", "remote", nc.RemoteAddr().String(), "max", limit)
			nc.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.active.Add(-1)
			if err := s.ServeConn(ctx, nc); err != nil {
				log.Warn("nbd: connection ended with an error", "remote", nc.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// ServeConn serves one client on nc until it disconnects or ctx ends, and
// closes nc. It returns nil when the client went away cleanly (NBD_OPT_ABORT,
// NBD_CMD_DISC, or a close between requests) or the server shut down.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) error {
	s.init()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &conn{srv: s, nc: nc, r: bufio.NewReaderSize(nc, 64<<10), log: s.logger().With("remote", nc.RemoteAddr().String())}
	defer nc.Close()
	// When ctx ends: read no more requests, and close the connection if
	// the replies in flight are not written within shutdownGrace.
	done := make(chan struct{})
	defer close(done)
	stop := context.AfterFunc(ctx, func() {
		nc.SetReadDeadline(time.Now())
		select {
		case <-done:
		case <-time.After(shutdownGrace):
			nc.Close()
		}
	})
	defer stop()

	e, err := c.handshake(ctx)
	switch {
	case errors.Is(err, errAborted):
		return nil
	case err != nil && ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("nbd: handshake: %w", err)
	}
	c.log.Info("nbd: client connected", "export", e.Name, "size", e.Size)
	err = c.transmit(ctx, e)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("nbd: export %q: %w", e.Name, err)
	}
	c.log.Info("nbd: client disconnected", "export", e.Name)
	return nil
}

// conn is one client's connection.
type conn struct {
	srv *Server
	nc  net.Conn
	r   *bufio.Reader // reads of nc: only the handshake, then the request loop
	log *slog.Logger

	noZeroes bool // the client asked for NBD_FLAG_C_NO_ZEROES

	wmu  sync.Mutex // serializes writes to nc in the transmission phase
	werr error      // guarded by wmu; the first failed reply
}

// errAborted: the client ended the handshake with NBD_OPT_ABORT.
var errAborted = errors.New("nbd: client aborted the handshake")
