package nbd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// list answers NBD_OPT_LIST: one NBD_REP_SERVER per export (its name,
// then its description, as the protocol allows), then an ACK.
func (c *conn) list(ctx context.Context, data []byte) error {
	if len(data) != 0 {
		return c.optionReply(optList, repErrInvalid, []byte("NBD_OPT_LIST takes no data"))
	}
	l, ok := c.srv.Exports.(Lister)
	if !ok {
		return c.optionReply(optList, repErrPolicy, []byte("this server does not list its exports"))
	}
	exports, err := l.List(ctx)
	if err != nil {
		c.log.Warn("nbd: list exports", "err", err)
		return c.optionReply(optList, repErrPolicy, []byte("the exports cannot be listed"))
	}
	for _, e := range exports {
		if e.Check() != nil {
			continue
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(len(e.Name)))
		b = append(append(b, e.Name...), e.Description...)
		if err := c.optionReply(optList, repServer, b); err != nil {
			return err
		}
	}
	return c.optionReply(optList, repAck, nil)
}

// parseInfo reads the data of NBD_OPT_INFO and NBD_OPT_GO: a 32-bit name
// length, the name, a 16-bit count and that many 16-bit info requests.
func parseInfo(data []byte) (string, []infoType, bool) {
	if len(data) < 6 {
		return "", nil, false
	}
	n := binary.BigEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-6) {
		return "", nil, false
	}
	name, rest := string(data[4:4+n]), data[4+n:]
	count := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) != 2*count {
		return "", nil, false
	}
	reqs := make([]infoType, count)
	for i := range reqs {
		reqs[i] = infoType(binary.BigEndian.Uint16(rest[2*i:]))
	}
	return name, reqs, true
}

// info answers NBD_OPT_INFO and NBD_OPT_GO: NBD_REP_INFO items, then an
// ACK or an error. For NBD_OPT_GO, an ACK ends the handshake: it returns
// the export.
func (c *conn) info(ctx context.Context, opt option, data []byte) (*Export, error) {
	name, reqs, ok := parseInfo(data)
	if !ok {
		return nil, c.optionReply(opt, repErrInvalid, fmt.Appendf(nil, "%v: malformed data", opt))
	}
	e, err := c.lookup(ctx, name)
	switch {
	case errors.Is(err, ErrUnknownExport):
		return nil, c.optionReply(opt, repErrUnknown, fmt.Appendf(nil, "no export named %q", name))
	case err != nil:
		c.log.Warn("nbd: look up export", "export", name, "err", err)
		return nil, c.optionReply(opt, repErrUnknown, fmt.Appendf(nil, "export %q is not available", name))
	}
	// The export's size and flags are always sent, and the block sizes
	// too (the client may ignore them; they are the protocol's defaults
	// but for the maximum).
	items := [][]byte{
		binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint64(infoItem(infoExport), uint64(e.wireSize())), uint16(exportFlags)),
		binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(
			infoItem(infoBlockSize), MinBlockSize), PreferredBlockSize), MaxBlockSize),
	}
	if slices.Contains(reqs, infoName) {
		items = append(items, append(infoItem(infoName), e.Name...))
	}
	if slices.Contains(reqs, infoDescription) && e.Description != "" {
		items = append(items, append(infoItem(infoDescription), e.Description...))
	}
	for _, it := range items {
		if err := c.optionReply(opt, repInfo, it); err != nil {
			return nil, err
		}
	}
	if err := c.optionReply(opt, repAck, nil); err != nil {
		return nil, err
	}
	if opt == optGo {
		return e, nil
	}
	return nil, nil
}

func infoItem(t infoType) []byte { return binary.BigEndian.AppendUint16(nil, uint16(t)) }
