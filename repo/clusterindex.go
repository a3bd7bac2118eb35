package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// An index object is what a node publishes of each pack it stores, after
// the pack and before its own index commit: the pack's chunk entries, as
// its trailer lists them, in an object other nodes find by listing only
// the newest names. Its name is <stamp>-<node>-<pack>: the stamp (16 hex
// digits of Unix nanoseconds, the writer's clock) sorts names by time.
//
// Layout: "svix", version 1, pack ID, pack size, created (Unix ns), entry
// count, entries (ID, offset, stored length, raw length, compression),
// then the BLAKE3 of everything before it. In an encrypted repository the
// object is sealed like every other object but packs.
const (
	indexObjectMagic   = "svix"
	indexObjectVersion = 1
	indexEntrySize     = 32 + 8 + 4 + 4 + 1
)

// errBadIndexObject is returned for an index object that does not decode.
var errBadIndexObject = errors.New("bad index object")

// indexObject is a decoded index object.
type indexObject struct {
	pack    chunk.ID
	size    int64
	created time.Time
	entries []index.Entry
}

func encodeIndexObject(o indexObject) []byte {
	b := make([]byte, 0, 4+1+32+8+8+4+len(o.entries)*indexEntrySize+32)
	b = append(b, indexObjectMagic...)
	b = append(b, indexObjectVersion)
	b = append(b, o.pack[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(o.size))
	b = binary.LittleEndian.AppendUint64(b, uint64(o.created.UnixNano()))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(o.entries)))
	for _, e := range o.entries {
		b = append(b, e.ID[:]...)
		b = binary.LittleEndian.AppendUint64(b, e.Offset)
		b = binary.LittleEndian.AppendUint32(b, e.Length)
		b = binary.LittleEndian.AppendUint32(b, e.RawLength)
		b = append(b, byte(e.Compression))
	}
	sum := chunk.Sum(b)
	return append(b, sum[:]...)
}

func decodeIndexObject(b []byte) (indexObject, error) {
	var o indexObject
	const head = 4 + 1 + 32 + 8 + 8 + 4
	if len(b) < head+32 || string(b[:4]) != indexObjectMagic {
		return o, fmt.Errorf("%w: no magic", errBadIndexObject)
	}
	switch b[4] {
	case indexObjectVersion:
	default:
		return o, fmt.Errorf("%w: version %d", errBadIndexObject, b[4])
	}
	body, sum := b[:len(b)-32], b[len(b)-32:]
	if want := chunk.Sum(body); !bytes.Equal(want[:], sum) {
		return o, fmt.Errorf("%w: checksum", errBadIndexObject)
	}
	copy(o.pack[:], b[5:])
	o.size = int64(binary.LittleEndian.Uint64(b[37:]))
	o.created = time.Unix(0, int64(binary.LittleEndian.Uint64(b[45:])))
	n := int(binary.LittleEndian.Uint32(b[53:]))
	if len(body) != head+n*indexEntrySize {
		return o, fmt.Errorf("%w: %d entries in %d bytes", errBadIndexObject, n, len(body))
	}
	o.entries = make([]index.Entry, n)
	for i := range o.entries {
		p := body[head+i*indexEntrySize:]
		e := &o.entries[i]
		copy(e.ID[:], p)
		e.Offset = binary.LittleEndian.Uint64(p[32:])
		e.Length = binary.LittleEndian.Uint32(p[40:])
		e.RawLength = binary.LittleEndian.Uint32(p[44:])
		e.Compression = chunk.Compression(p[48])
	}
	return o, nil
}

// indexObjectName is the name of the index object of pack, written at t
// by node.
func indexObjectName(t time.Time, node string, pack chunk.ID) string {
	return fmt.Sprintf("%016x-%s-%s", uint64(t.UnixNano()), node, pack)
}

// parseIndexObjectName returns the stamp and the pack of an index object's
// name.
func parseIndexObjectName(name string) (time.Time, chunk.ID, error) {
	if len(name) < 16+1+1+1+64 || name[16] != '-' || name[len(name)-65] != '-' {
		return time.Time{}, chunk.ID{}, fmt.Errorf("%w: name %q", errBadIndexObject, name)
	}
	ns, err := strconv.ParseUint(name[:16], 16, 64)
	if err != nil {
		return time.Time{}, chunk.ID{}, fmt.Errorf("%w: name %q", errBadIndexObject, name)
	}
	id, err := chunk.ParseID(name[len(name)-64:])
	if err != nil {
		return time.Time{}, chunk.ID{}, fmt.Errorf("%w: name %q", errBadIndexObject, name)
	}
	return time.Unix(0, int64(ns)), id, nil
}

// publish stores the index object of a pack just made durable, and
// records its name in the local index; the packer calls it between the
// pack's upload and its index commit.
func (c *cluster) publish(ctx context.Context, id chunk.ID, size int64, entries []pack.Entry) error {
	return c.publishEntries(ctx, id, size, indexEntries(entries))
}

// publishEntries is publish, with the entries as the index has them.
func (c *cluster) publishEntries(ctx context.Context, id chunk.ID, size int64, entries []index.Entry) error {
	now := c.r.now()
	name := indexObjectName(now, c.node, id)
	data := encodeIndexObject(indexObject{pack: id, size: size, created: now, entries: entries})
	h := backend.Handle{Type: backend.TypeIndex, Name: name}
	if err := c.r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("publish index of pack %s: %w", id.Short(), err)
	}
	c.stats.published.Add(1)
	c.stats.publishedBytes.Add(int64(len(data)))
	return c.r.idx.SetPackObject(id, name)
}

// readIndexObject reads and decodes one index object.
func (c *cluster) readIndexObject(ctx context.Context, name string) (indexObject, error) {
	c.stats.gets.Add(1)
	data, err := backend.ReadAll(ctx, c.r.be, backend.Handle{Type: backend.TypeIndex, Name: name})
	if err != nil {
		return indexObject{}, err
	}
	o, err := decodeIndexObject(data)
	if err != nil {
		return o, fmt.Errorf("index object %s: %w", name, err)
	}
	if _, id, err := parseIndexObjectName(name); err != nil || id != o.pack {
		return o, fmt.Errorf("index object %s: %w: names another pack", name, errBadIndexObject)
	}
	return o, nil
}
