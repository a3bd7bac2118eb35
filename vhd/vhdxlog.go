package vhd

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"slices"
)

// VHDX log replay ([MS-VHDX] 2.3). The log is a circular buffer of entries;
// the active sequence ends at the valid entry with the highest sequence
// number and starts at that entry's tail. Its data and zero descriptors are
// applied in order to an overlay of the file, never to the emitted bytes.
//
// All of it is linear in the log size, whatever the log holds:
//
//   - one pass marks the sectors that start with an entry signature; an
//     entry is a candidate only if no other such sector lies inside it (a
//     valid entry is header, descriptor and data sectors, none of which
//     starts with "loge"), so the candidates whose checksum is computed do
//     not overlap and checksumming costs at most one pass over the log;
//   - the walk of the active sequence looks entries up by offset;
//   - the overlay is built once from all descriptors with a sweep over
//     their sorted offsets (n log n in the number of descriptors), instead
//     of being repainted for each one.
//
// The context of the stream is checked in every loop.

const logSector = 4096

type logEntry struct {
	off    int64 // offset in the log
	length int64
	tail   int64
	seq    uint64
}

// ctxEvery is how many loop iterations go between context checks.
const ctxEvery = 1 << 14

// replayLog reads the log region and builds s.ov from its active sequence.
// A log whose GUID is set but that holds no valid entry is empty.
func (s *Stream) replayLog(h vhdxHeader) error {
	if h.logLength == 0 {
		return nil
	}
	if h.logLength > vhdxMaxLog {
		return fmt.Errorf("%w: vhdx log of %d bytes", ErrUnsupported, h.logLength)
	}
	if h.logLength%logSector != 0 {
		return fmt.Errorf("%w: vhdx log length %d is not a multiple of 4 KiB", ErrCorrupt, h.logLength)
	}
	log := make([]byte, h.logLength)
	if err := s.src.readAt(log, h.logOffset); err != nil {
		return fmt.Errorf("vhdx log: %w", err)
	}
	valid, head, err := s.scanLog(log, h.logGUID)
	if err != nil || head == nil {
		return err
	}
	// Walk from the tail to the head.
	var seqn []logEntry
	off := head.tail
	for n := int64(0); ; {
		if err := s.ctxErr(); err != nil {
			return err
		}
		e, ok := valid[off]
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
	var ops []ovSeg
	for i, e := range seqn {
		if i%64 == 0 {
			if err := s.ctxErr(); err != nil {
				return err
			}
		}
		if ops, err = replayEntry(ops, log, e); err != nil {
			return err
		}
	}
	ov, err := s.buildOverlay(ops)
	if err != nil {
		return err
	}
	s.ov = ov
	return nil
}

// scanLog finds the valid entries of the log, by offset, and the one with
// the highest sequence number (nil if there is none).
func (s *Stream) scanLog(log []byte, id guid) (map[int64]logEntry, *logEntry, error) {
	n := int64(len(log) / logSector)
	// room[k]: how many sectors from k on (k included) hold no other
	// entry signature, going round the circular log; at most n.
	room := make([]int32, n)
	next := int64(-1) // the nearest signature sector after i, in [0, 2n)
	for i := 2*n - 1; i >= 0; i-- {
		if i < n {
			room[i] = int32(n)
			if next >= 0 && next-i < n {
				room[i] = int32(next - i)
			}
		}
		if k := i % n; string(log[k*logSector:k*logSector+4]) == "loge" {
			next = i
		}
	}
	valid := map[int64]logEntry{}
	var head *logEntry
	for k := int64(0); k < n; k++ {
		if k%ctxEvery == 0 {
			if err := s.ctxErr(); err != nil {
				return nil, nil, err
			}
		}
		e, ok := parseLogEntry(log, k*logSector, int64(room[k])*logSector, id)
		if !ok {
			continue
		}
		valid[e.off] = e
		if head == nil || e.seq > head.seq {
			head = &e
		}
	}
	return valid, head, nil
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

// parseLogEntry checks the entry at off, a sector offset of the log, which
// may be at most room bytes long.
func parseLogEntry(log []byte, off, room int64, id guid) (logEntry, bool) {
	h := logBytes(log, off, 64)
	if string(h[:4]) != "loge" {
		return logEntry{}, false
	}
	e := logEntry{off: off, length: int64(binary.LittleEndian.Uint32(h[8:])),
		tail: int64(binary.LittleEndian.Uint32(h[12:])), seq: binary.LittleEndian.Uint64(h[16:])}
	count := int64(binary.LittleEndian.Uint32(h[24:]))
	l := int64(len(log))
	if e.length < logSector || e.length%logSector != 0 || e.length > l || e.length > room ||
		e.tail%logSector != 0 || e.tail >= l || e.seq == 0 {
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

// replayEntry appends one valid entry's descriptors to ops, as overlay
// segments in log order.
func replayEntry(ops []ovSeg, log []byte, e logEntry) ([]ovSeg, error) {
	b := logBytes(log, e.off, e.length)
	count := int64(binary.LittleEndian.Uint32(b[24:]))
	data := roundUp(64+32*count, logSector) // first data sector
	for i := int64(0); i < count; i++ {
		d := b[64+32*i : 96+32*i]
		off := int64(binary.LittleEndian.Uint64(d[16:]))
		if binary.LittleEndian.Uint64(d[24:]) != e.seq || off < 0 || off%logSector != 0 || off > vhdxMaxSize*2 {
			return nil, fmt.Errorf("%w: vhdx log entry %d: descriptor %d", ErrCorrupt, e.seq, i)
		}
		switch string(d[:4]) {
		case "zero":
			n := int64(binary.LittleEndian.Uint64(d[8:]))
			if n <= 0 || n%logSector != 0 || n > vhdxMaxSize {
				return nil, fmt.Errorf("%w: vhdx log entry %d: zero length %d", ErrCorrupt, e.seq, n)
			}
			ops = append(ops, ovSeg{off: off, n: n})
		case "desc":
			if data+logSector > e.length {
				return nil, fmt.Errorf("%w: vhdx log entry %d: missing data sector", ErrCorrupt, e.seq)
			}
			ds := b[data : data+logSector]
			data += logSector
			if string(ds[:4]) != "data" || binary.LittleEndian.Uint32(ds[4:]) != uint32(e.seq>>32) ||
				binary.LittleEndian.Uint32(ds[4092:]) != uint32(e.seq) {
				return nil, fmt.Errorf("%w: vhdx log entry %d: bad data sector", ErrCorrupt, e.seq)
			}
			sec := make([]byte, logSector)
			copy(sec, d[8:16])            // leading bytes
			copy(sec[8:4092], ds[8:4092]) // data
			copy(sec[4092:], d[4:8])      // trailing bytes
			ops = append(ops, ovSeg{off: off, n: logSector, data: sec})
		default:
			return nil, fmt.Errorf("%w: vhdx log entry %d: descriptor signature %q", ErrCorrupt, e.seq, d[:4])
		}
	}
	return ops, nil
}

// opHeap holds indexes of ops, the latest (highest index) on top.
type opHeap []int32

func (h opHeap) Len() int           { return len(h) }
func (h opHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h opHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *opHeap) Push(x any)        { *h = append(*h, x.(int32)) }
func (h *opHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// buildOverlay returns the overlay of writing ops in order, later ones
// over earlier ones: a sweep over the ops sorted by offset, where the
// latest op covering a point wins. Adjacent zero segments are merged.
func (s *Stream) buildOverlay(ops []ovSeg) (*overlay, error) {
	order := make([]int32, len(ops))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if ops[a].off != ops[b].off {
			if ops[a].off < ops[b].off {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	ov := &overlay{}
	emit := func(g ovSeg) {
		if l := len(ov.segs); l > 0 && g.data == nil && ov.segs[l-1].data == nil && ov.segs[l-1].off+ov.segs[l-1].n == g.off {
			ov.segs[l-1].n += g.n
			return
		}
		ov.segs = append(ov.segs, g)
	}
	var h opHeap
	end := func(i int32) int64 { return ops[i].off + ops[i].n }
	var pos int64
	next := 0
	for iter := 0; next < len(order) || len(h) > 0; iter++ {
		if iter%ctxEvery == 0 {
			if err := s.ctxErr(); err != nil {
				return nil, err
			}
		}
		if len(h) == 0 {
			pos = ops[order[next]].off
		}
		for next < len(order) && ops[order[next]].off <= pos {
			heap.Push(&h, order[next])
			next++
		}
		for len(h) > 0 && end(h[0]) <= pos {
			heap.Pop(&h)
		}
		if len(h) == 0 {
			continue
		}
		top := h[0]
		stop := end(top)
		if next < len(order) && ops[order[next]].off < stop {
			stop = ops[order[next]].off
		}
		emit(ops[top].sub(pos, stop))
		pos = stop
	}
	return ov, nil
}
