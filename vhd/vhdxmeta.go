package vhd

import (
	"encoding/binary"
	"fmt"
)

// vhdxMeta is what the metadata region says about the disk ([MS-VHDX] 2.6).
type vhdxMeta struct {
	blockSize   int64
	hasParent   bool
	leaveAlloc  bool // LeaveBlockAllocated: a fixed disk
	virtualSize int64
	diskID      guid
	lss, pss    int
	locator     map[string]string // parent locator keys and values
}

func parseVHDXMeta(b []byte) (vhdxMeta, error) {
	var m vhdxMeta
	if len(b) < 64<<10 || string(b[:8]) != "metadata" {
		return m, fmt.Errorf("%w: vhdx metadata: bad signature", ErrCorrupt)
	}
	n := int(binary.LittleEndian.Uint16(b[10:]))
	if n > 2047 {
		return m, fmt.Errorf("%w: vhdx metadata: %d entries", ErrCorrupt, n)
	}
	seen := map[guid]bool{}
	for i := 0; i < n; i++ {
		e := b[32+32*i:]
		var id guid
		copy(id[:], e[:16])
		off := int64(binary.LittleEndian.Uint32(e[16:]))
		l := int64(binary.LittleEndian.Uint32(e[20:]))
		flags := binary.LittleEndian.Uint32(e[24:])
		if l == 0 {
			continue
		}
		if off < 64<<10 || off+l > int64(len(b)) {
			return m, fmt.Errorf("%w: vhdx metadata item %d at %d, %d bytes", ErrCorrupt, i, off, l)
		}
		item := b[off : off+l]
		if seen[id] {
			return m, fmt.Errorf("%w: vhdx metadata item %d repeated", ErrCorrupt, i)
		}
		seen[id] = true
		fixed := func(want int64) error {
			if l < want {
				return fmt.Errorf("%w: vhdx metadata item %d: %d bytes", ErrCorrupt, i, l)
			}
			return nil
		}
		var err error
		switch id {
		case guidFileParameters:
			if err = fixed(8); err == nil {
				m.blockSize = int64(binary.LittleEndian.Uint32(item))
				m.leaveAlloc = binary.LittleEndian.Uint32(item[4:])&1 != 0
				m.hasParent = binary.LittleEndian.Uint32(item[4:])&2 != 0
			}
		case guidVirtualSize:
			if err = fixed(8); err == nil {
				v := binary.LittleEndian.Uint64(item)
				if v == 0 {
					return m, fmt.Errorf("%w: vhdx virtual size 0", ErrEmptyDisk)
				}
				if v > vhdxMaxSize {
					return m, fmt.Errorf("%w: vhdx virtual size %d", ErrUnsupported, v)
				}
				m.virtualSize = int64(v)
			}
		case guidPage83:
			if err = fixed(16); err == nil {
				copy(m.diskID[:], item)
			}
		case guidLogicalSector:
			if err = fixed(4); err == nil {
				m.lss = int(binary.LittleEndian.Uint32(item))
			}
		case guidPhysicalSector:
			if err = fixed(4); err == nil {
				m.pss = int(binary.LittleEndian.Uint32(item))
			}
		case guidParentLocator:
			m.locator, err = parseLocator(item)
		default:
			if flags&4 != 0 {
				return m, fmt.Errorf("%w: vhdx: unknown required metadata item", ErrUnsupported)
			}
		}
		if err != nil {
			return m, err
		}
	}
	return m, m.validate()
}

func (m *vhdxMeta) validate() error {
	bs := m.blockSize
	switch {
	case bs < mib || bs > 256*mib || bs&(bs-1) != 0:
		return fmt.Errorf("%w: vhdx block size %d", ErrCorrupt, bs)
	case m.lss != 512 && m.lss != 4096:
		return fmt.Errorf("%w: vhdx logical sector size %d", ErrCorrupt, m.lss)
	case m.pss != 512 && m.pss != 4096:
		return fmt.Errorf("%w: vhdx physical sector size %d", ErrCorrupt, m.pss)
	case m.virtualSize == 0 || m.virtualSize%int64(m.lss) != 0:
		return fmt.Errorf("%w: vhdx virtual size %d", ErrCorrupt, m.virtualSize)
	case m.hasParent && m.locator == nil:
		return fmt.Errorf("%w: vhdx differencing disk without parent locator", ErrCorrupt)
	}
	return nil
}

// parseLocator reads a VHDX parent locator's key/value pairs.
func parseLocator(b []byte) (map[string]string, error) {
	bad := fmt.Errorf("%w: vhdx parent locator", ErrCorrupt)
	if len(b) < 20 {
		return nil, bad
	}
	var typ guid
	copy(typ[:], b)
	if typ != guidVHDXLocator {
		return nil, fmt.Errorf("%w: vhdx parent locator type", ErrUnsupported)
	}
	n := int(binary.LittleEndian.Uint16(b[18:]))
	if 20+12*n > len(b) {
		return nil, bad
	}
	kv := map[string]string{}
	for i := 0; i < n; i++ {
		e := b[20+12*i:]
		ko, vo := int64(binary.LittleEndian.Uint32(e)), int64(binary.LittleEndian.Uint32(e[4:]))
		kl, vl := int64(binary.LittleEndian.Uint16(e[8:])), int64(binary.LittleEndian.Uint16(e[10:]))
		if ko+kl > int64(len(b)) || vo+vl > int64(len(b)) {
			return nil, bad
		}
		kv[utf16String(b[ko:ko+kl], false)] = utf16String(b[vo:vo+vl], false)
	}
	return kv, nil
}
