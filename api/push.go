package api

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

// The target side of a push: another server's sync job writes a
// snapshot through an import held here (routes under
// /api/v1/replication/push/, for a push or admin token). The target
// hashes every chunk itself, checks a source ID when it can (same ID
// scheme, or a plain source), and commits in the durability order of a
// backup (repo.Import). A push token can only add: nothing it sends
// replaces or removes a snapshot.

// Bounds of pushes.
const (
	maxPushImports  = 16
	maxPushDisks    = 256
	maxPushMap      = 2 << 30
	maxPushCommit   = 4*repo.MaxWriterMetadata/3 + 64<<20
	maxPushChunkReq = apiv1.MaxChunksPerRequest * (apiv1.MaxChunkFrame + chunk.IDSize + 4)
)

// pushImport is one import a pusher holds open.
type pushImport struct {
	im         *repo.Import
	source     string
	identity   bool // source and target compute IDs alike
	checkPlain bool // the source's IDs are plain BLAKE3

	mu   sync.Mutex
	maps []*diskmap.Map // guarded by mu
	last time.Time      // guarded by pushes.mu
}

// pushes are the imports open, by id.
type pushes struct {
	mu   sync.Mutex
	open map[string]*pushImport // guarded by mu
}

// sweepLocked ends imports idle longer than apiv1.PushIdleSeconds.
func (p *pushes) sweepLocked(now time.Time) {
	for id, pi := range p.open {
		if now.Sub(pi.last) > apiv1.PushIdleSeconds*time.Second {
			pi.im.Close()
			delete(p.open, id)
		}
	}
}

func (s *Server) pushRoutes(r chi.Router) {
	r.Use(allow(apiv1.RoleAdmin, apiv1.RolePush))
	r.Post("/", s.pushBegin)
	r.Post("/has", s.pushHas)
	r.Post("/protect", s.pushProtect)
	r.Route("/{import}", func(r chi.Router) {
		r.Post("/lookup", s.pushLookup)
		r.Post("/chunks", s.pushChunks)
		r.Post("/settle", s.pushSettle)
		r.Put("/maps/{i}", s.pushMap)
		r.Post("/commit", s.pushCommit)
		r.Delete("/", s.pushEnd)
	})
}

func (s *Server) pushBegin(w http.ResponseWriter, r *http.Request) {
	var req apiv1.PushBegin
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	src := req.Source.RepositoryID
	if err := validName("source", src); err != nil {
		writeError(w, r, err)
		return
	}
	im, err := s.repo.BeginImport(src)
	if err != nil {
		writeError(w, r, err)
		return
	}
	info := replicate.InfoOf(s.repo)
	identity := req.Source.IDFingerprint == info.IDFingerprint
	pi := &pushImport{im: im, source: src, identity: identity,
		checkPlain: !identity && req.Source.IDScheme == apiv1.IDSchemePlain, last: s.now()}
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	id := hex.EncodeToString(idb)
	s.pushes.mu.Lock()
	s.pushes.sweepLocked(s.now())
	if len(s.pushes.open) >= maxPushImports {
		s.pushes.mu.Unlock()
		im.Close()
		writeError(w, r, errf(http.StatusServiceUnavailable, apiv1.CodeBusy, "too many pushes in flight; retry later"))
		return
	}
	if s.pushes.open == nil {
		s.pushes.open = map[string]*pushImport{}
	}
	s.pushes.open[id] = pi
	s.pushes.mu.Unlock()
	writeJSON(w, http.StatusOK, apiv1.PushBegun{Import: id, Target: info})
}

// pushOf returns the import of the request, or answers 404.
func (s *Server) pushOf(w http.ResponseWriter, r *http.Request) (*pushImport, bool) {
	s.pushes.mu.Lock()
	pi := s.pushes.open[chi.URLParam(r, "import")]
	if pi != nil {
		pi.last = s.now()
	}
	s.pushes.mu.Unlock()
	if pi == nil {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no push import "+chi.URLParam(r, "import")))
		return nil, false
	}
	return pi, true
}

func replicaStateName(st repo.ReplicaState) string {
	switch st {
	case repo.ReplicaListed:
		return "listed"
	case repo.ReplicaForgotten:
		return "forgotten"
	}
	return "absent"
}

func (s *Server) pushSnapshotArg(w http.ResponseWriter, r *http.Request) (apiv1.PushSnapshot, bool) {
	var req apiv1.PushSnapshot
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return req, false
	}
	if !repo.ValidSnapshotID(req.Snapshot) || validName("source", req.Source) != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "snapshot: not a snapshot id, or no source"))
		return req, false
	}
	return req, true
}

func (s *Server) pushHas(w http.ResponseWriter, r *http.Request) {
	req, ok := s.pushSnapshotArg(w, r)
	if !ok {
		return
	}
	st, prot, err := s.repo.ReplicaOf(req.Source, req.Snapshot)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.PushState{State: replicaStateName(st), Protected: prot})
}

// pushProtect protects a copy of the source's snapshot (never another).
func (s *Server) pushProtect(w http.ResponseWriter, r *http.Request) {
	req, ok := s.pushSnapshotArg(w, r)
	if !ok {
		return
	}
	m, err := s.repo.Snapshot(req.Snapshot)
	if err == nil && (m.Replica == nil || m.Replica.Source != req.Source) {
		err = errf(http.StatusForbidden, apiv1.CodeForbidden, "snapshot "+req.Snapshot+" is not a copy from that source")
	}
	if err == nil {
		err = s.repo.SetProtected(r.Context(), req.Snapshot, true)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.PushState{State: "listed", Protected: true})
}

func (s *Server) pushLookup(w http.ResponseWriter, r *http.Request) {
	pi, ok := s.pushOf(w, r)
	if !ok {
		return
	}
	var req apiv1.PushLookup
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if len(req.IDs) > apiv1.MaxPushLookup {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "ids: at most "+strconv.Itoa(apiv1.MaxPushLookup)))
		return
	}
	ids, err := parseIDs(req.IDs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.PushIDs{IDs: make([]string, len(ids))}
	err = pi.im.Lookup(ids, pi.identity, func(i int, dst chunk.ID, ok bool) {
		if ok {
			pi.im.Ref(dst)
			out.IDs[i] = dst.String()
		}
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func parseIDs(in []string) ([]chunk.ID, error) {
	ids := make([]chunk.ID, len(in))
	for i, v := range in {
		id, err := chunk.ParseID(v)
		if err != nil {
			return nil, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "ids: "+err.Error())
		}
		ids[i] = id
	}
	return ids, nil
}

// pushChunks stores the chunks of a chunk stream (frames as the source's
// chunk route sends them, at most apiv1.MaxChunksPerRequest) and answers
// their target IDs.
func (s *Server) pushChunks(w http.ResponseWriter, r *http.Request) {
	pi, ok := s.pushOf(w, r)
	if !ok {
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxPushChunkReq)
	var out apiv1.PushIDs
	var head [chunk.IDSize + 4]byte
	var buf []byte
	for len(out.IDs) < apiv1.MaxChunksPerRequest {
		if _, err := io.ReadFull(body, head[:]); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeTruncatedBody, "chunk stream: "+err.Error()))
			return
		}
		src := chunk.ID(head[:chunk.IDSize])
		n := binary.BigEndian.Uint32(head[chunk.IDSize:])
		if n == 0 || n > apiv1.MaxChunkFrame {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "chunk stream: a chunk of "+strconv.Itoa(int(n))+" bytes"))
			return
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(body, buf); err != nil {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeTruncatedBody, "chunk stream: "+err.Error()))
			return
		}
		if pi.checkPlain && chunk.Sum(buf) != src {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeCorruptData, "chunk "+src.String()+": content does not match its ID"))
			return
		}
		dst, stored, err := pi.im.Save(r.Context(), src, buf)
		if err == nil && pi.identity && dst != src {
			err = errf(http.StatusBadRequest, apiv1.CodeCorruptData, "chunk "+src.String()+": content does not match its ID")
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		out.IDs = append(out.IDs, dst.String())
		out.StoredBytes += int64(stored)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pushSettle(w http.ResponseWriter, r *http.Request) {
	pi, ok := s.pushOf(w, r)
	if !ok {
		return
	}
	if err := pi.im.Settle(r.Context()); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.PushState{State: "ok"})
}

// pushMap keeps disk map i of the snapshot to commit.
func (s *Server) pushMap(w http.ResponseWriter, r *http.Request) {
	pi, ok := s.pushOf(w, r)
	if !ok {
		return
	}
	i, err := strconv.Atoi(chi.URLParam(r, "i"))
	if err != nil || i < 0 || i >= maxPushDisks {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "disk map index: 0 to "+strconv.Itoa(maxPushDisks-1)))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushMap))
	if err != nil {
		writeError(w, r, errf(http.StatusRequestEntityTooLarge, apiv1.CodeBodyTooLarge, "disk map: "+err.Error()))
		return
	}
	dm, err := diskmap.Decode(data)
	if err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, err.Error()))
		return
	}
	pi.mu.Lock()
	for len(pi.maps) <= i {
		pi.maps = append(pi.maps, nil)
	}
	pi.maps[i] = dm
	pi.mu.Unlock()
	writeJSON(w, http.StatusOK, apiv1.PushState{State: "ok"})
}

// pushCommit commits the import's snapshot; a snapshot id the target
// lists, or copied and forgot, answers its state and stores nothing.
func (s *Server) pushCommit(w http.ResponseWriter, r *http.Request) {
	pi, ok := s.pushOf(w, r)
	if !ok {
		return
	}
	var req apiv1.PushCommit
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPushCommit)).Decode(&req); err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "invalid JSON body: "+err.Error()))
		return
	}
	m, err := repo.DecodeManifest(req.Manifest)
	if err != nil || !repo.ValidSnapshotID(m.ID) {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "manifest: not one"))
		return
	}
	pi.mu.Lock()
	maps := pi.maps
	pi.mu.Unlock()
	if len(maps) != len(m.Disks) || len(m.Disks) > maxPushDisks {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "disk maps: "+strconv.Itoa(len(maps))+" sent for "+strconv.Itoa(len(m.Disks))+" disks"))
		return
	}
	for i, dm := range maps {
		if dm == nil {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "disk map "+strconv.Itoa(i)+" not sent"))
			return
		}
	}
	if st, _, err := s.repo.ReplicaOf(pi.source, m.ID); err != nil || st != repo.ReplicaAbsent {
		if err == nil {
			writeJSON(w, http.StatusOK, apiv1.PushState{State: replicaStateName(st)})
			return
		}
		writeError(w, r, err)
		return
	}
	err = pi.im.Commit(r.Context(), m, maps, req.WriterMetadata, req.Protect)
	if errors.Is(err, repo.ErrSnapshotExists) {
		writeJSON(w, http.StatusOK, apiv1.PushState{State: "listed"})
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.PushState{State: "ok"})
}

func (s *Server) pushEnd(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "import")
	s.pushes.mu.Lock()
	pi := s.pushes.open[id]
	delete(s.pushes.open, id)
	s.pushes.mu.Unlock()
	if pi != nil {
		pi.im.Close()
	}
	writeJSON(w, http.StatusOK, apiv1.PushState{State: "ok"})
}
