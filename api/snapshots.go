package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
)

func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request) {
	f := repo.Filter{Host: r.URL.Query().Get("host"), VM: r.URL.Query().Get("vm")}
	if tok := caller(r); tok.Host != "" { // an agent, or a restore token of one host
		if f.Host != "" && f.Host != tok.Host {
			writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "this token may only list host "+tok.Host))
			return
		}
		f.Host = tok.Host
	}
	list, err := s.repo.Snapshots(f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	protected, err := s.repo.Protected()
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.SnapshotList{Snapshots: make([]apiv1.SnapshotSummary, 0, len(list))}
	for _, m := range list {
		sum := snapshotSummaryToWire(m)
		sum.Protected = protected[m.ID]
		out.Snapshots = append(out.Snapshots, sum)
	}
	writeJSON(w, http.StatusOK, out)
}

// snapshot finds the snapshot in the URL, hiding other hosts' from tokens
// limited to a host (agents, and restore tokens of one host).
func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) (*repo.Manifest, bool) {
	m, err := s.repo.Snapshot(chi.URLParam(r, "id"))
	if err == nil {
		if tok := caller(r); tok.Host != "" && m.Host != tok.Host {
			err = fmt.Errorf("snapshot %s: %w", m.ID, repo.ErrUnknownSnapshot)
		}
	}
	if err != nil {
		writeError(w, r, err)
		return nil, false
	}
	return m, true
}

func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) {
	if m, ok := s.snapshot(w, r); ok {
		writeJSON(w, http.StatusOK, snapshotToWire(m))
	}
}

// restoreDisk streams a snapshot disk in the format asked for. Every
// format answers Range requests and carries a strong ETag (a snapshot disk
// never changes, and its VHD and VHDX are the same bytes every time):
// If-None-Match gets 304, an If-Range that does not match gets the whole
// file.
func (s *Server) restoreDisk(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	f, err := restore.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "format must be original, raw, vhd or vhdx"))
		return
	}
	if !linkAllows(w, r, m.ID, chi.URLParam(r, "name"), f) {
		return
	}
	d, err := restore.Open(r.Context(), s.maps, m, chi.URLParam(r, "name"), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := restore.Range{Off: 0, Len: d.Size()}
	status := http.StatusOK
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.FileName()))
	etag := d.ETag()
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if d.Ranges() {
		w.Header().Set("Accept-Ranges", "bytes")
		if h := r.Header.Get("Range"); h != "" && ifRangeHolds(r.Header.Get("If-Range"), etag) {
			if out, ok = restore.ParseRange(h, d.Size()); !ok {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", d.Size()))
				writeError(w, r, errf(http.StatusRequestedRangeNotSatisfiable, apiv1.CodeBadRange, fmt.Sprintf("range %s not satisfiable for %d bytes", h, d.Size())))
				return
			}
			status = http.StatusPartialContent
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", out.Off, out.Off+out.Len-1, d.Size()))
		}
	}
	w.Header().Set("Content-Length", strconv.FormatInt(out.Len, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if d.Ranges() {
		_, err = d.WriteRange(s.bodyWriter(w), out)
	} else {
		_, err = d.WriteTo(s.bodyWriter(w))
	}
	if err != nil {
		logger(r).Error("restore failed mid-stream", "snapshot", m.ID, "disk", d.Name(), "format", f, "err", err)
	}
}

func (s *Server) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	if err := s.repo.ForgetSnapshot(r.Context(), m.ID); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.SnapshotForgotten{Snapshot: m.ID, Forgotten: true})
}

// etagMatches reports whether an If-None-Match header names etag (or is *).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return header != ""
		}
	}
	return false
}

// ifRangeHolds reports whether a Range may be served under an If-Range
// header: none, or our ETag (a date is not a validator we keep).
func ifRangeHolds(header, etag string) bool {
	return header == "" || strings.TrimSpace(header) == etag
}
