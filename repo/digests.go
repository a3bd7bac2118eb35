package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Block digests object format, version 1 (little endian), named by the
// disk map whose virtual content it describes:
//
//	magic "SVBD" | version u16 | block size u32 | count u64
//	count BLAKE3-256 digests, one per block of the virtual content
//	BLAKE3-256 of everything before it
//
// They are derived data: a disk map's digests can always be computed
// again from its content, and a prune deletes them with the disk map.
const (
	digestsMagic   = "SVBD"
	digestsVersion = 1
	digestSize     = chunk.IDSize
)

// ErrNoDigests is returned for a disk map whose digests were not stored.
var ErrNoDigests = errors.New("no block digests stored")

func digestsHandle(diskMap chunk.ID) backend.Handle {
	return backend.Handle{Type: backend.TypeDigests, Name: diskMap.String()}
}

// SaveDigests stores the block digests of a disk map's virtual content.
func (r *Repository) SaveDigests(ctx context.Context, diskMap chunk.ID, blockSize int64, digests []byte) error {
	if len(digests)%digestSize != 0 || blockSize <= 0 || blockSize > 1<<31 {
		return fmt.Errorf("digests of %s: %d bytes, block size %d", diskMap.Short(), len(digests), blockSize)
	}
	b := make([]byte, 0, 18+len(digests)+digestSize)
	b = append(b, digestsMagic...)
	b = binary.LittleEndian.AppendUint16(b, digestsVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(blockSize))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(digests)/digestSize))
	b = append(b, digests...)
	sum := chunk.Sum(b)
	b = append(b, sum[:]...)
	if err := r.be.Put(ctx, digestsHandle(diskMap), bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("store digests of %s: %w", diskMap.Short(), err)
	}
	return nil
}

// LoadDigests reads the block digests of a disk map: ErrNoDigests when
// none were stored, ErrCorrupt when the object does not check.
func (r *Repository) LoadDigests(ctx context.Context, diskMap chunk.ID) (blockSize int64, digests []byte, err error) {
	data, err := backend.ReadAll(ctx, r.be, digestsHandle(diskMap))
	if errors.Is(err, backend.ErrNotFound) {
		return 0, nil, fmt.Errorf("disk map %s: %w", diskMap.Short(), ErrNoDigests)
	}
	if err != nil {
		return 0, nil, err
	}
	if len(data) < 18+digestSize || string(data[:4]) != digestsMagic || binary.LittleEndian.Uint16(data[4:]) != digestsVersion ||
		chunk.Sum(data[:len(data)-digestSize]) != chunk.ID(data[len(data)-digestSize:]) {
		return 0, nil, fmt.Errorf("digests of %s: %w", diskMap.Short(), ErrCorrupt)
	}
	blockSize = int64(binary.LittleEndian.Uint32(data[6:]))
	n := binary.LittleEndian.Uint64(data[10:])
	body := data[18 : len(data)-digestSize]
	if uint64(len(body)) != n*digestSize {
		return 0, nil, fmt.Errorf("digests of %s: %w: %d digests in %d bytes", diskMap.Short(), ErrCorrupt, n, len(body))
	}
	return blockSize, body, nil
}
