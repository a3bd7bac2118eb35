package api

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/vhd"
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
	out := apiv1.SnapshotList{Snapshots: make([]apiv1.SnapshotSummary, 0, len(list))}
	for _, m := range list {
		out.Snapshots = append(out.Snapshots, snapshotSummaryToWire(m))
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

func (s *Server) restoreDisk(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	name := chi.URLParam(r, "name")
	if _, ok := m.Disk(name); !ok {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeUnknownDisk, fmt.Sprintf("snapshot %s has no disk %q", m.ID, name)))
		return
	}
	format := r.URL.Query().Get("format")
	var d *repo.DiskReader
	var err error
	if format == "original" {
		d, err = s.repo.OpenDisk(r.Context(), m, name, nil) // the recipe never reads the parent
	} else {
		d, err = s.repo.OpenChain(r.Context(), m, name)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if format != "original" {
		if err := d.Readable(); err != nil {
			writeError(w, r, err)
			return
		}
	}
	var size int64
	var write func(io.Writer) (int64, error)
	switch format {
	case "raw", "":
		s.serveRaw(w, r, d, name)
		return
	case "original":
		size = d.OriginalSize()
		write = func(w io.Writer) (int64, error) { return d.WriteOriginal(r.Context(), w) }
	case "vhd":
		if size = vhd.VHDSize(d); size < 0 {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "disk too large for the VHD format (2040 GiB at most)"))
			return
		}
		write = func(w io.Writer) (int64, error) { return vhd.WriteVHD(w, d) }
	case "vhdx":
		size = vhd.VHDXSize(d)
		write = func(w io.Writer) (int64, error) { return vhd.WriteVHDX(w, d) }
	default:
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "format must be original, raw, vhd or vhdx"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", restoreName(name, format)))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := write(s.bodyWriter(w)); err != nil {
		logger(r).Error("restore failed mid-stream", "snapshot", m.ID, "disk", name, "format", format, "err", err)
	}
}

// restoreName names a restored file after the disk, with the format's extension.
func restoreName(name, format string) string {
	if format == "original" || format == "" {
		return name
	}
	base := strings.TrimSuffix(name, path.Ext(name))
	return base + "." + format
}

func (s *Server) serveRaw(w http.ResponseWriter, r *http.Request, d *repo.DiskReader, name string) {
	size := d.Size()
	off, n := int64(0), size
	status := http.StatusOK
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Type", "application/octet-stream")
	if h := r.Header.Get("Range"); h != "" {
		var ok bool
		off, n, ok = parseRange(h, size)
		if !ok {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			writeError(w, r, errf(http.StatusRequestedRangeNotSatisfiable, apiv1.CodeBadRange, "range "+h+" not satisfiable for "+strconv.FormatInt(size, 10)+" bytes"))
			return
		}
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := d.WriteVirtual(r.Context(), s.bodyWriter(w), off, n); err != nil {
		logger(r).Error("restore failed mid-stream", "disk", name, "err", err)
	}
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
func parseRange(h string, size int64) (off, n int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		k, err := strconv.ParseInt(b, 10, 64)
		if err != nil || k <= 0 || size == 0 {
			return 0, 0, false
		}
		k = min(k, size)
		return size - k, k, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end := size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, 0, false
		}
		end = min(end, size-1)
	}
	return start, end - start + 1, true
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
