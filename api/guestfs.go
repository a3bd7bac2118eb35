package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/guestfs"
	"github.com/shadowvault/shadowvault/restore"
)

// fsCache keeps a few opened filesystems, so that browsing a snapshot does
// not re-read its MFT at every click. Each holds a bounded chunk cache.
type fsCache struct {
	mu    sync.Mutex
	order []string               // most recent first, guarded by mu
	open  map[string]*guestfs.FS // guarded by mu
}

const fsCacheSize = 4

// get returns the open filesystem of key. One whose disk gave an I/O
// error is closed and forgotten instead: it is opened again.
func (c *fsCache) get(key string) *guestfs.FS {
	c.mu.Lock()
	defer c.mu.Unlock()
	fs := c.open[key]
	if fs != nil && fs.Err() != nil {
		c.dropLocked(key)
		return nil
	}
	if fs != nil {
		c.touchLocked(key)
	}
	return fs
}

func (c *fsCache) dropLocked(key string) {
	if f := c.open[key]; f != nil {
		f.Close()
	}
	delete(c.open, key)
	for i, k := range c.order {
		if k == key {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

func (c *fsCache) put(key string, fs *guestfs.FS) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		c.open = map[string]*guestfs.FS{}
	}
	c.open[key] = fs
	c.touchLocked(key)
	for len(c.order) > fsCacheSize {
		c.dropLocked(c.order[len(c.order)-1])
	}
}

func (c *fsCache) touchLocked(key string) {
	for i, k := range c.order {
		if k == key {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.order = append([]string{key}, c.order...)
}

// diskForFS opens the virtual content of a snapshot disk, bound to the
// request.
func (s *Server) diskForFS(w http.ResponseWriter, r *http.Request) (*restore.Disk, bool) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return nil, false
	}
	d, err := restore.Open(r.Context(), s.maps, m, chi.URLParam(r, "name"), restore.Raw)
	if err != nil {
		writeError(w, r, err)
		return nil, false
	}
	return d, true
}

func (s *Server) fsPartitions(w http.ResponseWriter, r *http.Request) {
	d, ok := s.diskForFS(w, r)
	if !ok {
		return
	}
	parts, err := guestfs.Partitions(d, d.VirtualSize())
	if err != nil {
		writeError(w, r, fsError(err))
		return
	}
	if parts == nil {
		parts = []guestfs.Partition{}
	}
	writeJSON(w, http.StatusOK, partitionsToWire(parts))
}

// openFS opens partition {index} as NTFS, through the cache: a cached
// filesystem needs no disk map load.
func (s *Server) openFS(w http.ResponseWriter, r *http.Request) (*guestfs.FS, bool) {
	idx, err := strconv.Atoi(chi.URLParam(r, "index"))
	if err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "partition index must be a number"))
		return nil, false
	}
	m, ok := s.snapshot(w, r)
	if !ok {
		return nil, false
	}
	key := m.ID + "/" + chi.URLParam(r, "name") + "/" + strconv.Itoa(idx)
	if fs := s.fs.get(key); fs != nil {
		return fs, true
	}
	d, ok := s.diskForFS(w, r)
	if !ok {
		return nil, false
	}
	parts, err := guestfs.Partitions(d, d.VirtualSize())
	if err != nil {
		writeError(w, r, fsError(err))
		return nil, false
	}
	for _, p := range parts {
		if p.Index != idx {
			continue
		}
		fs, err := guestfs.OpenNTFS(r.Context(), d, p)
		if err != nil {
			writeError(w, r, fsError(err))
			return nil, false
		}
		s.fs.put(key, fs)
		return fs, true
	}
	writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, fmt.Sprintf("no partition %d", idx)))
	return nil, false
}

func (s *Server) fsList(w http.ResponseWriter, r *http.Request) {
	fs, ok := s.openFS(w, r)
	if !ok {
		return
	}
	p := r.URL.Query().Get("path")
	if p == "" {
		p = "/"
	}
	entries, err := fs.List(r.Context(), p)
	if err != nil {
		writeError(w, r, fsError(err))
		return
	}
	if entries == nil {
		entries = []guestfs.Entry{}
	}
	writeJSON(w, http.StatusOK, apiv1.DirListing{Path: p, Entries: dirEntriesToWire(entries)})
}

func (s *Server) fsCat(w http.ResponseWriter, r *http.Request) {
	fs, ok := s.openFS(w, r)
	if !ok {
		return
	}
	p := r.URL.Query().Get("path")
	st, err := fs.Stat(r.Context(), p)
	if err == nil && st.Dir {
		err = guestfs.ErrIsDir
	}
	if err != nil {
		writeError(w, r, fsError(err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size, 10))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", st.Name))
	if _, err := fs.Cat(r.Context(), p, &limitWriter{w: s.bodyWriter(w), left: st.Size}); err != nil {
		logger(r).Error("file download failed mid-stream", "path", p, "err", err)
	}
}

// limitWriter stops a download at the size announced in Content-Length.
type limitWriter struct {
	w    interface{ Write([]byte) (int, error) }
	left int64
}

var errTooLong = errors.New("file longer than its recorded size")

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		n, _ := l.w.Write(p[:l.left])
		l.left -= int64(n)
		return n, errTooLong
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// fsError maps guest filesystem errors to API errors.
func fsError(err error) error {
	switch {
	case errors.Is(err, guestfs.ErrNotFound):
		return errf(http.StatusNotFound, apiv1.CodeNotFound, err.Error())
	case errors.Is(err, guestfs.ErrNotDir), errors.Is(err, guestfs.ErrIsDir):
		return errf(http.StatusBadRequest, apiv1.CodeBadRequest, err.Error())
	case errors.Is(err, guestfs.ErrUnsupported):
		return errf(http.StatusUnprocessableEntity, apiv1.CodeUnsupportedFS, err.Error())
	case errors.Is(err, guestfs.ErrCorrupt):
		return errf(http.StatusUnprocessableEntity, apiv1.CodeCorruptFS, err.Error())
	}
	return err
}
