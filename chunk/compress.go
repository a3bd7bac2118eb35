package chunk

import (
	"fmt"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// Compression says how a stored chunk is encoded.
type Compression uint8

// Encodings of a stored chunk.
const (
	Raw Compression = 1 + iota
	Zstd
)

func (c Compression) String() string {
	switch c {
	case Raw:
		return "raw"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

// Encoder and decoder are safe for concurrent EncodeAll/DecodeAll calls.
var (
	// Chunks carry their own BLAKE3 check, so zstd's frame checksum would
	// only cost time.
	// EncodeAll takes one of the encoder's states for each call: the
	// concurrency bounds how many chunks compress at once.
	encoder, _ = zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true),
		zstd.WithLowerEncoderMem(true))
	probe, _ = zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithEncoderCRC(false),
		zstd.WithLowerEncoderMem(true))
	decoder, _ = zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(64<<20))
)

// probeSize is how much of a large chunk is test-compressed first: random
// or already compressed data (encrypted files, media, packed archives) is
// then stored raw without a full compression attempt.
const probeSize = 8 << 10

// Compress appends the stored form of data to dst. It returns zstd output
// when that saves at least 1/32 of the size, and a copy of data otherwise.
func Compress(dst, data []byte) ([]byte, Compression) {
	start := len(dst)
	if len(data) >= 8*probeSize {
		var buf [probeSize + 512]byte
		// Two samples, at the start and in the middle.
		a := probe.EncodeAll(data[:probeSize], buf[:0])
		b := probe.EncodeAll(data[len(data)/2:len(data)/2+probeSize], buf[:0])
		if len(a) >= probeSize-probeSize/64 && len(b) >= probeSize-probeSize/64 {
			return append(dst, data...), Raw
		}
	}
	out := encoder.EncodeAll(data, dst)
	if n := len(out) - start; n < len(data)-len(data)/32 {
		return out, Zstd
	}
	return append(out[:start], data...), Raw
}

// Decompress appends the raw bytes of a stored chunk to dst. rawLen is the
// expected length; anything else is an error.
func Decompress(dst, stored []byte, c Compression, rawLen int) ([]byte, error) {
	start := len(dst)
	switch c {
	case Raw:
		dst = append(dst, stored...)
	case Zstd:
		var err error
		dst, err = decoder.DecodeAll(stored, dst)
		if err != nil {
			return dst[:start], fmt.Errorf("zstd: %w", err)
		}
	default:
		return dst, fmt.Errorf("unknown compression %d", c)
	}
	if n := len(dst) - start; n != rawLen {
		return dst[:start], fmt.Errorf("decoded %d bytes, want %d", n, rawLen)
	}
	return dst, nil
}
