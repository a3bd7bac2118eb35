package vhd

import (
	"encoding/binary"
	"fmt"
)

// VHDX log replay ([MS-VHDX] 2.3). The log is a circular buffer of entries;
// the active sequence ends at the valid entry with the highest sequence
// number and starts at that entry's tail. Its data and zero descriptors are
// applied in order to an overlay of the file, never to the emitted bytes.

const logSector = 4096

type logEntry struct {
	off    int64 // offset in the log
	length int64
	tail   int64
	seq    uint64
}

// replayLog reads the log region and builds s.ov from its active sequence.
// A log whose GUID is set but that holds no valid entry is empty.
func (s *Stream) replayLog(h vhdxHeader) error {
	if h.logLength == 0 {
		return nil
	}
	if h.logLength > vhdxMaxLog {
		return fmt.Errorf("%w: vhdx log of %d bytes", ErrUnsupported, h.logLength)
	}
	log := make([]byte, h.logLength)
	if err := s.src.readAt(log, h.logOffset); err != nil {
		return fmt.Errorf("vhdx log: %w", err)
	}
	var head *logEntry
	for off := int64(0); off < h.logLength; off += logSector {
		if e, ok := parseLogEntry(log, off, h.logGUID); ok && (head == nil || e.seq > head.seq) {
			head = &e
		}
	}
	if head == nil {
		return nil
	}
	// Walk from the tail to the head.
	var seqn []logEntry
	off := head.tail
	for n := int64(0); ; {
		e, ok := parseLogEntry(log, off, h.logGUID)
		if !ok || (len(seqn) > 0 && e.seq != seqn[len(seqn)-1].seq+1) {
			return fmt.Errorf("%w: vhdx log: broken sequence at %d", ErrCorrupt, off)
		}
		seqn = append(seqn, e)
		if n += e.length; n > h.logLength {
			return fmt.Errorf("%w: vhdx log: sequence longer than the log", ErrCorrupt)
		}
		if e.off == head.off {
			break
		}
		off = (off + e.length) % h.logLength
	}
	s.ov = &overlay{}
	for _, e := range seqn {
		if err := replayEntry(s.ov, log, e); err != nil {
			return err
		}
	}
	return nil
}

// logBytes reads n bytes at off of the circular log.
func logBytes(log []byte, off, n int64) []byte {
	l := int64(len(log))
	off %= l
	if off+n <= l {
		return log[off : off+n]
	}
	b := make([]byte, 0, n)
	b = append(b, log[off:]...)
	return append(b, log[:n-(l-off)]...)
}

func parseLogEntry(log []byte, off int64, id guid) (logEntry, bool) {
	h := logBytes(log, off, 64)
	if string(h[:4]) != "loge" {
		return logEntry{}, false
	}
	e := logEntry{off: off, length: int64(binary.LittleEndian.Uint32(h[8:])),
		tail: int64(binary.LittleEndian.Uint32(h[12:])), seq: binary.LittleEndian.Uint64(h[16:])}
	count := int64(binary.LittleEndian.Uint32(h[24:]))
	l := int64(len(log))
	if e.length < logSector || e.length%logSector != 0 || e.length > l || e.tail%logSector != 0 || e.tail >= l || e.seq == 0 {
		return logEntry{}, false
	}
	if string(h[32:48]) != string(id[:]) || roundUp(64+32*count, logSector) > e.length {
		return logEntry{}, false
	}
	b := logBytes(log, off, e.length)
	if !crcOK(b) {
		return logEntry{}, false
	}
	return e, true
}

// replayEntry applies one valid entry's descriptors to ov.
func replayEntry(ov *overlay, log []byte, e logEntry) error {
	b := logBytes(log, e.off, e.length)
	count := int64(binary.LittleEndian.Uint32(b[24:]))
	data := roundUp(64+32*count, logSector) // first data sector
	for i := int64(0); i < count; i++ {
		d := b[64+32*i : 96+32*i]
		off := int64(binary.LittleEndian.Uint64(d[16:]))
		if binary.LittleEndian.Uint64(d[24:]) != e.seq || off < 0 || off%logSector != 0 || off > vhdxMaxSize*2 {
			return fmt.Errorf("%w: vhdx log entry %d: descriptor %d", ErrCorrupt, e.seq, i)
		}
		switch string(d[:4]) {
		case "zero":
			n := int64(binary.LittleEndian.Uint64(d[8:]))
			if n <= 0 || n%logSector != 0 || n > vhdxMaxSize {
				return fmt.Errorf("%w: vhdx log entry %d: zero length %d", ErrCorrupt, e.seq, n)
			}
			ov.paint(off, n, nil)
		case "desc":
			if data+logSector > e.length {
				return fmt.Errorf("%w: vhdx log entry %d: missing data sector", ErrCorrupt, e.seq)
			}
			ds := b[data : data+logSector]
			data += logSector
			if string(ds[:4]) != "data" || binary.LittleEndian.Uint32(ds[4:]) != uint32(e.seq>>32) ||
				binary.LittleEndian.Uint32(ds[4092:]) != uint32(e.seq) {
				return fmt.Errorf("%w: vhdx log entry %d: bad data sector", ErrCorrupt, e.seq)
			}
			sec := make([]byte, logSector)
			copy(sec, d[8:16])            // leading bytes
			copy(sec[8:4092], ds[8:4092]) // data
			copy(sec[4092:], d[4:8])      // trailing bytes
			ov.paint(off, logSector, sec)
		default:
			return fmt.Errorf("%w: vhdx log entry %d: descriptor signature %q", ErrCorrupt, e.seq, d[:4])
		}
	}
	return nil
}
