package chunk

import (
	"fmt"
	"io"

	"github.com/restic/chunker"
)

// Params are a repository's chunker settings, fixed at init.
type Params struct {
	Polynomial chunker.Pol `json:"polynomial"`
	MinSize    uint        `json:"min_size"`
	AvgBits    int         `json:"avg_bits"`
	MaxSize    uint        `json:"max_size"`
}

// DefaultParams returns the defaults with a new random polynomial:
// min 64 KiB, average 2^17, max 1 MiB.
func DefaultParams() (Params, error) {
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return Params{}, fmt.Errorf("random polynomial: %w", err)
	}
	return Params{Polynomial: pol, MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}, nil
}

// Validate checks that the parameters can drive the chunker.
func (p Params) Validate() error {
	switch {
	case !p.Polynomial.Irreducible():
		return fmt.Errorf("chunker polynomial %v is not irreducible", p.Polynomial)
	case p.MinSize < 512 || p.MaxSize < p.MinSize || p.MaxSize > 64<<20:
		return fmt.Errorf("chunker sizes min %d max %d out of range", p.MinSize, p.MaxSize)
	case p.AvgBits < 10 || p.AvgBits > 24:
		return fmt.Errorf("chunker avg bits %d out of range", p.AvgBits)
	}
	return nil
}

// Splitter cuts a stream into content-defined chunks. Reset starts a new
// stream, which is also how callers force a cut: the chunker restarts at
// every Reset.
type Splitter struct {
	p Params
	c *chunker.Chunker
}

// NewSplitter returns a Splitter with parameters p.
func NewSplitter(p Params) *Splitter {
	c := chunker.NewWithBoundaries(nil, p.Polynomial, p.MinSize, p.MaxSize)
	return &Splitter{p: p, c: c}
}

// Reset makes the splitter read a new stream from r.
func (s *Splitter) Reset(r io.Reader) {
	s.c.ResetWithBoundaries(r, s.p.Polynomial, s.p.MinSize, s.p.MaxSize)
	s.c.SetAverageBits(s.p.AvgBits)
}

// Next returns the next chunk's bytes, written into buf (which must have a
// capacity of at least MaxSize to avoid reallocation). It returns io.EOF at
// the end of the stream.
func (s *Splitter) Next(buf []byte) ([]byte, error) {
	c, err := s.c.Next(buf)
	if err != nil {
		return nil, err
	}
	return c.Data, nil
}
