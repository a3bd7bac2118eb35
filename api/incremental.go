package api

import (
	"mime"
	"net/http"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
)

// incrementalBase finds and opens the base of an incremental upload
// (PUT .../disks/{name}?base=ID|latest): a snapshot of the session's own
// host holding disk name. It also reads the body's boundary.
func (s *Server) incrementalBase(r *http.Request, sess *repo.Session, name string) (*restore.Disk, string, string, error) {
	boundary := ""
	if ct := r.Header.Get("Content-Type"); ct != "" { // none: an empty body, else BAD_RANGES
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
			return nil, "", "", errf(http.StatusBadRequest, apiv1.CodeBadRanges,
				"an incremental upload is a multipart/byteranges body with a boundary (or an empty body: unchanged)")
		}
		boundary = params["boundary"]
	}
	m, err := sess.BaseSnapshot(r.URL.Query().Get("base"), name)
	if err != nil {
		return nil, "", "", err
	}
	base, err := restore.Open(r.Context(), s.maps, m, name, restore.Raw)
	if err != nil {
		return nil, "", "", err
	}
	return base, m.ID, boundary, nil
}

// ingestIncremental stores the upload's changes over base, holding the
// base's chunks it reuses against a prune.
func (s *Server) ingestIncremental(w http.ResponseWriter, r *http.Request, up *repo.Upload, base *restore.Disk, boundary string) (*ingest.Result, error) {
	b := &knownBase{Disk: base, ext: base.Reusable()}
	var reused []chunk.ID
	for _, e := range b.ext {
		if e.Kind == diskmap.ExtentData {
			reused = append(reused, e.ID)
		}
	}
	if err := up.Reuse(reused); err != nil {
		return nil, err
	}
	return ingest.Incremental(r.Context(), b, s.bodyReader(w, r), boundary, up, ingest.Options{Params: s.repo.Config().Chunker, IDs: s.repo.IDs()})
}

// knownBase is a base disk whose reusable extents were listed once.
type knownBase struct {
	*restore.Disk
	ext []diskmap.Extent
}

func (b *knownBase) Reusable() []diskmap.Extent { return b.ext }
