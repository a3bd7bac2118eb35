package api

import (
	"io"
	"net/http"
	"time"
)

// idleReader extends the connection's read deadline before every read, so
// a client that stops sending mid-body (slow loris) is cut off after the idle
// timeout, while a long upload that keeps moving is never limited.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	_ = i.rc.SetReadDeadline(time.Now().Add(i.idle))
	return i.r.Read(p)
}

// idleWriter does the same for a client that stops reading a restore.
type idleWriter struct {
	w    io.Writer
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleWriter) Write(p []byte) (int, error) {
	_ = i.rc.SetWriteDeadline(time.Now().Add(i.idle))
	return i.w.Write(p)
}

func (s *Server) bodyReader(w http.ResponseWriter, r *http.Request) io.Reader {
	return &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.opts.IdleTimeout}
}

func (s *Server) bodyWriter(w http.ResponseWriter) io.Writer {
	return &idleWriter{w: w, rc: http.NewResponseController(w), idle: s.opts.IdleTimeout}
}
