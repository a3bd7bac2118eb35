package replicate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo"
)

// Bounds of what a sync accepts from a source server.
const (
	maxInfoBody      = 64 << 10
	maxSnapshotsBody = 256 << 20
	maxDiskMapBody   = 2 << 30
)

// HTTPSource is a Source read from a server's replication routes, with
// a replication (or admin) token of that server: the pull form of a sync.
type HTTPSource struct {
	URL   string // the server, e.g. https://primary:8420
	Token string
	HTTP  *http.Client // default http.DefaultClient
}

var _ Source = (*HTTPSource)(nil)

func (s *HTTPSource) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

// do sends a request to path and returns the response of a 200, else an
// error naming the server's code.
func (s *HTTPSource) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(s.URL, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb apiv1.ErrorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
		return nil, fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, eb.Error.Code, eb.Error.Message)
	}
	return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
}

// get reads the body of a GET, at most limit bytes.
func (s *HTTPSource) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	resp, err := s.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", path, limit)
	}
	return data, nil
}

// Info reads GET /api/v1/replication/info.
func (s *HTTPSource) Info(ctx context.Context) (apiv1.ReplicationInfo, error) {
	var info apiv1.ReplicationInfo
	data, err := s.get(ctx, "/api/v1/replication/info", maxInfoBody)
	if err == nil {
		err = json.Unmarshal(data, &info)
	}
	return info, err
}

// Snapshots reads GET /api/v1/replication/snapshots.
func (s *HTTPSource) Snapshots(ctx context.Context) ([]SourceSnapshot, error) {
	data, err := s.get(ctx, "/api/v1/replication/snapshots", maxSnapshotsBody)
	if err != nil {
		return nil, err
	}
	var list apiv1.ReplicationSnapshots
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("snapshot list: %w", err)
	}
	out := make([]SourceSnapshot, 0, len(list.Snapshots))
	for _, rs := range list.Snapshots {
		m, err := repo.DecodeManifest(rs.Manifest)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", rs.ID, err)
		}
		if m.ID != rs.ID {
			return nil, fmt.Errorf("snapshot %s: the manifest says %s", rs.ID, m.ID)
		}
		out = append(out, SourceSnapshot{Manifest: m, Protected: rs.Protected})
	}
	return out, nil
}

// DiskMap reads GET /api/v1/replication/diskmaps/{id}.
func (s *HTTPSource) DiskMap(ctx context.Context, id chunk.ID) ([]byte, error) {
	return s.get(ctx, "/api/v1/replication/diskmaps/"+id.String(), maxDiskMapBody)
}

// WriterMetadata reads GET /api/v1/replication/snapshots/{id}/writer-metadata.
func (s *HTTPSource) WriterMetadata(ctx context.Context, snapshot string) ([]byte, error) {
	return s.get(ctx, "/api/v1/replication/snapshots/"+url.PathEscape(snapshot)+"/writer-metadata", repo.MaxWriterMetadata)
}

// Chunks reads POST /api/v1/replication/chunks: a frame per ID.
func (s *HTTPSource) Chunks(ctx context.Context, ids []chunk.ID, fn func(chunk.ID, []byte) error) error {
	if len(ids) > apiv1.MaxChunksPerRequest {
		return fmt.Errorf("chunks: %d IDs in one request, at most %d", len(ids), apiv1.MaxChunksPerRequest)
	}
	req := apiv1.ChunksRequest{IDs: make([]string, len(ids))}
	for i, id := range ids {
		req.IDs[i] = id.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := s.do(ctx, http.MethodPost, "/api/v1/replication/chunks", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var head [chunk.IDSize + 4]byte
	var buf []byte
	for range ids {
		if _, err := io.ReadFull(resp.Body, head[:]); err != nil {
			return fmt.Errorf("chunk stream: %w", err)
		}
		id := chunk.ID(head[:chunk.IDSize])
		n := binary.BigEndian.Uint32(head[chunk.IDSize:])
		if n > apiv1.MaxChunkFrame {
			return fmt.Errorf("chunk stream: chunk %s of %d bytes", id.Short(), n)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return fmt.Errorf("chunk stream: chunk %s: %w", id.Short(), err)
		}
		if err := fn(id, buf); err != nil {
			return err
		}
	}
	return nil
}
