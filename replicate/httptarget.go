package replicate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
)

// HTTPTarget is a Target written through a server's push routes, with a
// push (or admin) token of that server: the push form of a sync. The
// target hashes, checks and stores; this side only sends.
type HTTPTarget struct {
	// The server's URL and token, as an HTTPSource's.
	HTTPSource
}

var _ Target = (*HTTPTarget)(nil)

// maxPushAnswer bounds an answer of a push target (a lookup of
// apiv1.MaxPushLookup IDs answers about 280 KiB).
const maxPushAnswer = 1 << 20

// postJSON posts req to path and decodes the answer into out.
func (t *HTTPTarget) postJSON(ctx context.Context, method, path string, req, out any) error {
	var body []byte
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return err
		}
	}
	return t.send(ctx, method, path, body, out)
}

func (t *HTTPTarget) send(ctx context.Context, method, path string, body []byte, out any) error {
	resp, err := t.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPushAnswer)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// Fingerprint asks the target for its ID scheme (beginning no import).
func (t *HTTPTarget) Fingerprint(ctx context.Context) (string, error) {
	info, err := t.Info(ctx)
	return info.IDFingerprint, err
}

// Info reads the target's description from the push route.
func (t *HTTPTarget) Info(ctx context.Context) (apiv1.ReplicationInfo, error) {
	// The target describes itself when an import begins: begin one and
	// end it.
	var begun apiv1.PushBegun
	if err := t.postJSON(ctx, http.MethodPost, "/api/v1/replication/push/", apiv1.PushBegin{Source: apiv1.ReplicationInfo{RepositoryID: "probe"}}, &begun); err != nil {
		return apiv1.ReplicationInfo{}, err
	}
	_ = t.postJSON(ctx, http.MethodDelete, "/api/v1/replication/push/"+begun.Import+"/", nil, nil)
	return begun.Target, nil
}

// Has asks the target what it knows of a snapshot of source.
func (t *HTTPTarget) Has(ctx context.Context, source, id string) (repo.ReplicaState, bool, error) {
	var st apiv1.PushState
	err := t.postJSON(ctx, http.MethodPost, "/api/v1/replication/push/has", apiv1.PushSnapshot{Source: source, Snapshot: id}, &st)
	if err != nil {
		return 0, false, err
	}
	switch st.State {
	case "listed":
		return repo.ReplicaListed, st.Protected, nil
	case "forgotten":
		return repo.ReplicaForgotten, false, nil
	case "absent":
		return repo.ReplicaAbsent, false, nil
	}
	return 0, false, fmt.Errorf("target: snapshot %s in state %q", id, st.State)
}

// Protect protects the target's copy of a snapshot of source.
func (t *HTTPTarget) Protect(ctx context.Context, source, id string) error {
	return t.postJSON(ctx, http.MethodPost, "/api/v1/replication/push/protect", apiv1.PushSnapshot{Source: source, Snapshot: id}, &apiv1.PushState{})
}

// Begin starts an import on the target.
func (t *HTTPTarget) Begin(ctx context.Context, src apiv1.ReplicationInfo) (Import, error) {
	var begun apiv1.PushBegun
	if err := t.postJSON(ctx, http.MethodPost, "/api/v1/replication/push/", apiv1.PushBegin{Source: src}, &begun); err != nil {
		return nil, err
	}
	return &httpImport{t: t, path: "/api/v1/replication/push/" + begun.Import}, nil
}

// httpImport is an import held on a push target.
type httpImport struct {
	t    *HTTPTarget
	path string
}

func (h *httpImport) Lookup(ctx context.Context, srcs []chunk.ID, _ bool, fn func(i int, dst chunk.ID, ok bool)) error {
	for start := 0; start < len(srcs); start += apiv1.MaxPushLookup {
		group := srcs[start:min(start+apiv1.MaxPushLookup, len(srcs))]
		req := apiv1.PushLookup{IDs: make([]string, len(group))}
		for i, id := range group {
			req.IDs[i] = id.String()
		}
		var out apiv1.PushIDs
		if err := h.t.postJSON(ctx, http.MethodPost, h.path+"/lookup", req, &out); err != nil {
			return err
		}
		if len(out.IDs) != len(group) {
			return fmt.Errorf("target: %d lookups answered for %d", len(out.IDs), len(group))
		}
		for i, v := range out.IDs {
			if v == "" {
				fn(start+i, chunk.ID{}, false)
				continue
			}
			dst, err := chunk.ParseID(v)
			if err != nil {
				return fmt.Errorf("target: %w", err)
			}
			fn(start+i, dst, true)
		}
	}
	return nil
}

// Ref does nothing: the target records what its lookups found.
func (h *httpImport) Ref(chunk.ID) {}

// Save sends one chunk and returns the ID the target computed.
func (h *httpImport) Save(ctx context.Context, src chunk.ID, data []byte) (chunk.ID, int, error) {
	dsts, stored, err := h.SaveBatch(ctx, []chunk.ID{src}, [][]byte{data})
	if err != nil {
		return chunk.ID{}, 0, err
	}
	return dsts[0], int(stored), nil
}

// SaveBatch sends chunks in one request (at most
// apiv1.MaxChunksPerRequest) and returns the IDs the target computed and
// the bytes it stored new.
func (h *httpImport) SaveBatch(ctx context.Context, srcs []chunk.ID, data [][]byte) ([]chunk.ID, int64, error) {
	if len(srcs) != len(data) || len(srcs) > apiv1.MaxChunksPerRequest {
		return nil, 0, fmt.Errorf("push: %d chunks in one request", len(srcs))
	}
	var body bytes.Buffer
	for i, src := range srcs {
		body.Write(src[:])
		body.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data[i]))))
		body.Write(data[i])
	}
	var out apiv1.PushIDs
	if err := h.t.send(ctx, http.MethodPost, h.path+"/chunks", body.Bytes(), &out); err != nil {
		return nil, 0, err
	}
	if len(out.IDs) != len(srcs) {
		return nil, 0, fmt.Errorf("target: %d chunk IDs for %d chunks", len(out.IDs), len(srcs))
	}
	dsts := make([]chunk.ID, len(srcs))
	for i, v := range out.IDs {
		var err error
		if dsts[i], err = chunk.ParseID(v); err != nil {
			return nil, 0, fmt.Errorf("target: %w", err)
		}
	}
	return dsts, out.StoredBytes, nil
}

func (h *httpImport) Settle(ctx context.Context) error {
	return h.t.postJSON(ctx, http.MethodPost, h.path+"/settle", nil, &apiv1.PushState{})
}

// Commit sends the disk maps, then the manifest.
func (h *httpImport) Commit(ctx context.Context, m *repo.Manifest, maps []*diskmap.Map, doc []byte, protect bool) error {
	for i, dm := range maps {
		data, _ := dm.Encode()
		if err := h.t.send(ctx, http.MethodPut, h.path+"/maps/"+strconv.Itoa(i), data, &apiv1.PushState{}); err != nil {
			return fmt.Errorf("disk map %d: %w", i, err)
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var st apiv1.PushState
	if err := h.t.postJSON(ctx, http.MethodPost, h.path+"/commit", apiv1.PushCommit{Manifest: raw, WriterMetadata: doc, Protect: protect}, &st); err != nil {
		return err
	}
	if st.State != "ok" {
		return fmt.Errorf("target: snapshot %s %s: %w", m.ID, st.State, repo.ErrSnapshotExists)
	}
	return nil
}

func (h *httpImport) Close() {
	_ = h.t.postJSON(context.Background(), http.MethodDelete, h.path+"/", nil, nil)
}
