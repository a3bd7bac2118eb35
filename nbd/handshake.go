package nbd

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// handshake runs the fixed newstyle negotiation and returns the export
// the client chose. It must end within the server's HandshakeTimeout.
func (c *conn) handshake(ctx context.Context) (*Export, error) {
	c.nc.SetDeadline(time.Now().Add(orDefault(c.srv.HandshakeTimeout, DefaultHandshakeTimeout)))
	e, err := c.negotiate(ctx)
	if err == nil {
		err = c.nc.SetDeadline(time.Time{})
	}
	return e, err
}

func (c *conn) negotiate(ctx context.Context) (*Export, error) {
	greeting := binary.BigEndian.AppendUint64(nil, magicInit)
	greeting = binary.BigEndian.AppendUint64(greeting, magicOption)
	greeting = binary.BigEndian.AppendUint16(greeting, uint16(handshakeFixedNewstyle|handshakeNoZeroes))
	if _, err := c.nc.Write(greeting); err != nil {
		return nil, fmt.Errorf("send greeting: %w", err)
	}
	var b [16]byte
	if _, err := io.ReadFull(c.r, b[:4]); err != nil {
		return nil, fmt.Errorf("read client flags: %w", err)
	}
	flags := clientFlags(binary.BigEndian.Uint32(b[:4]))
	if flags&^clientKnown != 0 {
		return nil, fmt.Errorf("%w: unknown client flags %#x", ErrProtocol, uint32(flags))
	}
	fixed := flags&clientFixedNewstyle != 0
	c.noZeroes = flags&clientNoZeroes != 0
	for {
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return nil, fmt.Errorf("read option: %w", err)
		}
		if m := binary.BigEndian.Uint64(b[:8]); m != magicOption {
			return nil, fmt.Errorf("%w: option magic %#x", ErrProtocol, m)
		}
		opt, length := option(binary.BigEndian.Uint32(b[8:12])), binary.BigEndian.Uint32(b[12:16])
		if opt == optExportName {
			return c.exportName(ctx, length)
		}
		if !fixed {
			return nil, fmt.Errorf("%w: %v from a client without fixed newstyle", ErrProtocol, opt)
		}
		e, err := c.option(ctx, opt, length)
		if e != nil || err != nil {
			return e, err
		}
	}
}

// option answers one option other than NBD_OPT_EXPORT_NAME; it returns
// the export once NBD_OPT_GO chose one.
func (c *conn) option(ctx context.Context, opt option, length uint32) (*Export, error) {
	switch opt {
	case optAbort, optList, optInfo, optGo:
	default:
		// STARTTLS, STRUCTURED_REPLY, the metadata contexts and all
		// others: the client carries on without them.
		if err := c.skip(length); err != nil {
			return nil, err
		}
		return nil, c.optionReply(opt, repErrUnsup, fmt.Appendf(nil, "%v is not supported", opt))
	}
	if length > maxOptionLen {
		if err := c.skip(length); err != nil {
			return nil, err
		}
		return nil, c.optionReply(opt, repErrTooBig, fmt.Appendf(nil, "%v: %d bytes of data, at most %d", opt, length, maxOptionLen))
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(c.r, data); err != nil {
		return nil, fmt.Errorf("read %v data: %w", opt, err)
	}
	switch opt {
	case optAbort:
		// The client may close without waiting for this answer.
		_ = c.optionReply(opt, repAck, nil)
		return nil, errAborted
	case optList:
		return nil, c.list(ctx, data)
	}
	return c.info(ctx, opt, data)
}

// exportName answers NBD_OPT_EXPORT_NAME, which cannot fail but by
// closing the connection.
func (c *conn) exportName(ctx context.Context, length uint32) (*Export, error) {
	if length > maxNameLen {
		return nil, fmt.Errorf("%w: %v: a name of %d bytes", ErrProtocol, optExportName, length)
	}
	name := make([]byte, length)
	if _, err := io.ReadFull(c.r, name); err != nil {
		return nil, fmt.Errorf("read export name: %w", err)
	}
	e, err := c.lookup(ctx, string(name))
	if err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(e.wireSize()))
	b = binary.BigEndian.AppendUint16(b, uint16(exportFlags))
	if !c.noZeroes {
		b = append(b, make([]byte, exportNameZeroPad)...)
	}
	if _, err := c.nc.Write(b); err != nil {
		return nil, fmt.Errorf("answer %v: %w", optExportName, err)
	}
	return e, nil
}

func (c *conn) lookup(ctx context.Context, name string) (*Export, error) {
	e, err := c.srv.Exports.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return e, nil
}

// skip discards n bytes of option data without holding them.
func (c *conn) skip(n uint32) error {
	if _, err := io.CopyN(io.Discard, c.r, int64(n)); err != nil {
		return fmt.Errorf("skip option data: %w", err)
	}
	return nil
}

// optionReply sends one reply to opt.
func (c *conn) optionReply(opt option, typ replyType, data []byte) error {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 20+len(data)), magicOptionReply)
	b = binary.BigEndian.AppendUint32(b, uint32(opt))
	b = binary.BigEndian.AppendUint32(b, uint32(typ))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	if _, err := c.nc.Write(append(b, data...)); err != nil {
		return fmt.Errorf("answer %v: %w", opt, err)
	}
	return nil
}
