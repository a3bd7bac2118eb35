package replicate

import (
	"context"
	"fmt"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo"
)

// LocalSource is a Source over a repository opened in this process (the
// offline form of a sync, and the servers' replication routes).
type LocalSource struct{ R *repo.Repository }

var _ Source = LocalSource{}

// Info describes the repository.
func (s LocalSource) Info(context.Context) (apiv1.ReplicationInfo, error) { return InfoOf(s.R), nil }

// Snapshots lists every snapshot with its protection mark.
func (s LocalSource) Snapshots(context.Context) ([]SourceSnapshot, error) {
	list, err := s.R.Snapshots(repo.Filter{})
	if err != nil {
		return nil, err
	}
	prot, err := s.R.Protected()
	if err != nil {
		return nil, err
	}
	out := make([]SourceSnapshot, len(list))
	for i, m := range list {
		out[i] = SourceSnapshot{Manifest: m, Protected: prot[m.ID]}
	}
	return out, nil
}

// DiskMap reads a disk map and encodes it again (the encoding is
// canonical: the bytes match the name).
func (s LocalSource) DiskMap(ctx context.Context, id chunk.ID) ([]byte, error) {
	m, err := s.R.LoadDiskMap(ctx, id)
	if err != nil {
		return nil, err
	}
	data, _ := m.Encode()
	return data, nil
}

// WriterMetadata reads a snapshot's document.
func (s LocalSource) WriterMetadata(ctx context.Context, snapshot string) ([]byte, error) {
	m, err := s.R.Snapshot(snapshot)
	if err != nil {
		return nil, err
	}
	return s.R.WriterMetadata(ctx, m)
}

// Chunks reads each chunk (checked against its ID as it is decoded).
func (s LocalSource) Chunks(ctx context.Context, ids []chunk.ID, fn func(chunk.ID, []byte) error) error {
	var buf []byte
	for _, id := range ids {
		var err error
		if buf, err = s.R.LoadChunk(ctx, buf[:0], id); err != nil {
			return fmt.Errorf("read chunk %s: %w", id.Short(), err)
		}
		if err := fn(id, buf); err != nil {
			return err
		}
	}
	return nil
}
