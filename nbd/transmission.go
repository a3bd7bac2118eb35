package nbd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// request is a transmission request as the client sent it.
type request struct {
	flags  commandFlags
	cmd    command
	handle uint64
	offset uint64
	length uint32
}

const requestLen = 28

func (c *conn) readRequest() (request, error) {
	var b [requestLen]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return request{}, err
	}
	if m := binary.BigEndian.Uint32(b[:4]); m != magicRequest {
		return request{}, fmt.Errorf("%w: request magic %#x", ErrProtocol, m)
	}
	return request{
		flags:  commandFlags(binary.BigEndian.Uint16(b[4:6])),
		cmd:    command(binary.BigEndian.Uint16(b[6:8])),
		handle: binary.BigEndian.Uint64(b[8:16]),
		offset: binary.BigEndian.Uint64(b[16:24]),
		length: binary.BigEndian.Uint32(b[24:28]),
	}, nil
}

// transmit serves requests for e until the client disconnects or ctx
// ends. Reads run in their own goroutines (ReadsInFlight at most); every
// other request is answered in turn. Before it returns, every request read
// so far has been answered (or the connection has failed).
func (c *conn) transmit(ctx context.Context, e *Export) error {
	slots := make(chan struct{}, orDefault(c.srv.ReadsInFlight, DefaultReadsInFlight))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		req, err := c.readRequest()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return nil // the client closed between requests
		default:
			if werr := c.replyErr(); werr != nil {
				return werr // the reader failed because a reply did
			}
			return fmt.Errorf("read request: %w", err)
		}
		if req.cmd != cmdRead {
			if done, err := c.other(e, req); done || err != nil {
				return err
			}
			continue
		}
		if ec := checkRead(e, req); ec != errOK || req.length == 0 {
			if ec != errOK {
				c.log.Debug("nbd: read refused", "export", e.Name, "offset", req.offset, "length", req.length, "flags", uint16(req.flags), "err", ec)
			}
			c.reply(req, ec, nil)
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			c.reply(req, errShutdown, nil)
			return nil
		}
		_, size := bufClass(int(req.length))
		if err := c.srv.budget.acquire(ctx, int64(size)); err != nil {
			<-slots
			c.reply(req, errShutdown, nil)
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer c.srv.budget.release(int64(size))
			c.read(ctx, e, req)
		}()
	}
}

// checkRead validates a read request against e and the block size limits.
func checkRead(e *Export, req request) errno {
	switch {
	case req.flags&^cmdFlagFUA != 0:
		return errInval
	case req.length > MaxBlockSize:
		return errInval
	case req.offset > uint64(e.wireSize()) || uint64(req.length) > uint64(e.wireSize())-req.offset:
		return errInval
	}
	return errOK
}

// read answers one read request.
func (c *conn) read(ctx context.Context, e *Export, req request) {
	buf := getBuf(int(req.length))
	defer putBuf(buf)
	if err := e.readFull(ctx, buf, int64(req.offset)); err != nil {
		ec := errIO
		if ctx.Err() != nil {
			ec = errShutdown
		} else {
			c.log.Warn("nbd: read failed", "export", e.Name, "err", err)
		}
		c.reply(req, ec, nil)
		return
	}
	c.reply(req, errOK, buf)
}

// other answers a request other than a read. done: the client
// disconnected (NBD_CMD_DISC); an error ends the connection.
func (c *conn) other(e *Export, req request) (done bool, err error) {
	switch req.cmd {
	case cmdDisc:
		return true, nil
	case cmdFlush:
		c.reply(req, errOK, nil) // nothing is ever written
	case cmdWrite:
		// The payload follows the request; it is read and dropped so
		// that the next request can be read. One larger than any
		// request may be would cost the reading of an unbounded
		// stream: the connection ends instead.
		if req.length > MaxBlockSize {
			return true, fmt.Errorf("%w: %v of %d bytes (at most %d)", ErrProtocol, req.cmd, req.length, MaxBlockSize)
		}
		if _, err := io.CopyN(io.Discard, c.r, int64(req.length)); err != nil {
			return true, fmt.Errorf("read %v payload: %w", req.cmd, err)
		}
		c.log.Debug("nbd: write refused on a read-only export", "export", e.Name, "offset", req.offset, "length", req.length)
		c.reply(req, errPerm, nil)
	case cmdTrim, cmdWriteZeroes:
		c.reply(req, errPerm, nil)
	default: // CACHE, BLOCK_STATUS and unknown commands: none was offered
		c.reply(req, errInval, nil)
	}
	return false, nil
}

// reply sends a simple reply, with data for a successful read. Replies are
// written one at a time, each whole. A failed reply closes the connection
// (so that the request loop stops); later replies are dropped.
func (c *conn) reply(req request, ec errno, data []byte) {
	hdr := binary.BigEndian.AppendUint32(make([]byte, 0, 16), magicSimpleReply)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(ec))
	hdr = binary.BigEndian.AppendUint64(hdr, req.handle)
	bufs := net.Buffers{hdr}
	if ec == errOK && len(data) > 0 {
		bufs = append(bufs, data)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(replyTimeout))
	if _, err := bufs.WriteTo(c.nc); err != nil {
		c.werr = fmt.Errorf("reply to %v: %w", req.cmd, err)
		c.nc.Close()
	}
}

func (c *conn) replyErr() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.werr
}
