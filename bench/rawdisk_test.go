//go:build linux

package bench

import (
	mrand "math/rand/v2"
	"os"
	"strconv"
)

// rawDisk describes a raw disk image the restore benchmark writes.
type rawDisk struct {
	Size  int64
	Data  int64 // bytes of the data regions (the rest is zero, left as holes)
	Kind  string
	Zeros int // zero regions
}

// writeMostlyData writes a raw disk image of size bytes at path: regions of
// 1 to 9 MiB, one in 8 zero (a hole in the file), the others data. kind
// "random" makes every data region incompressible; "mixed" alternates
// incompressible regions and log-like text (zstd stores it at about a
// third).
func writeMostlyData(path string, size int64, kind string, seed uint64) (rawDisk, error) {
	d := rawDisk{Size: size, Kind: kind}
	f, err := os.Create(path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return d, err
	}
	rng := mrand.New(mrand.NewPCG(seed, 1))
	src := mrand.NewChaCha8([32]byte{byte(seed), 'r', 'a', 'w'})
	buf := make([]byte, 9<<20)
	for off, i := int64(0), 0; off < size; i++ {
		n := min(size-off, int64(1<<20+rng.IntN(8<<20))) &^ 4095
		if n <= 0 {
			n = size - off
		}
		if rng.IntN(8) == 0 {
			d.Zeros++
			off += n
			continue
		}
		p := buf[:n]
		if kind == "mixed" && i%2 == 1 {
			fillText(p, rng)
		} else {
			src.Read(p)
		}
		if _, err := f.WriteAt(p, off); err != nil {
			return d, err
		}
		d.Data += n
		off += n
	}
	return d, f.Close()
}

// fillText fills p with numbered lines of a log.
func fillText(p []byte, rng *mrand.Rand) {
	line := make([]byte, 0, 96)
	for i := 0; i < len(p); {
		line = strconv.AppendUint(line[:0], rng.Uint64()%1e12, 10)
		line = append(line, " INFO service restarted the worker pool after a configuration change\n"...)
		i += copy(p[i:], line)
	}
}
