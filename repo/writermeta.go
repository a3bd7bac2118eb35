package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// MaxWriterMetadata bounds the VSS writer metadata document of a session.
const MaxWriterMetadata = 16 << 20

// Writer metadata errors.
var (
	ErrNoWriterMetadata  = errors.New("snapshot has no writer metadata")
	ErrBadWriterMetadata = errors.New("bad writer metadata document")
)

// Document names a small object a manifest references, with its BLAKE3.
type Document struct {
	Size   int64    `json:"size"`
	BLAKE3 chunk.ID `json:"blake3"`
}

func metadataHandle(snapshot string) backend.Handle {
	return backend.Handle{Type: backend.TypeMetadata, Name: snapshot}
}

// SetWriterMetadata keeps the VSS writer metadata document (diskshadow's
// backup .cab, or the writers' XML) the agent sent for the session, to be
// stored with the snapshot, so that a restore can hand it back to VSS. A
// later call replaces it.
func (s *Session) SetWriterMetadata(doc []byte) error {
	if len(doc) == 0 || len(doc) > MaxWriterMetadata {
		return fmt.Errorf("%w: %d bytes (1 to %d)", ErrBadWriterMetadata, len(doc), MaxWriterMetadata)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.state.err(); err != nil {
		return fmt.Errorf("session %s: %w", s.ID, err)
	}
	if s.state != stateOpen {
		return fmt.Errorf("session %s: completing: %w", s.ID, ErrSessionClosed)
	}
	s.writerMeta = append([]byte(nil), doc...)
	s.touchLocked()
	return nil
}

func (s *Session) writerDoc() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writerMeta
}

// saveWriterMetadata stores the document of snapshot id, before the
// manifest that references it (durability order, step 3).
func (r *Repository) saveWriterMetadata(ctx context.Context, id string, doc []byte) (*Document, error) {
	if err := r.be.Put(ctx, metadataHandle(id), bytes.NewReader(doc), int64(len(doc))); err != nil {
		return nil, fmt.Errorf("store writer metadata: %w", err)
	}
	return &Document{Size: int64(len(doc)), BLAKE3: chunk.Sum(doc)}, nil
}

// WriterMetadata returns the VSS writer metadata document of a snapshot,
// checked against the BLAKE3 its manifest records.
func (r *Repository) WriterMetadata(ctx context.Context, m *Manifest) ([]byte, error) {
	if m.WriterMetadata == nil {
		return nil, fmt.Errorf("snapshot %s: %w", m.ID, ErrNoWriterMetadata)
	}
	data, err := backend.ReadAll(ctx, r.be, metadataHandle(m.ID))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: writer metadata: %w", m.ID, err)
	}
	if int64(len(data)) != m.WriterMetadata.Size || chunk.Sum(data) != m.WriterMetadata.BLAKE3 {
		return nil, fmt.Errorf("snapshot %s: writer metadata does not match its manifest: %w", m.ID, ErrCorrupt)
	}
	return data, nil
}
