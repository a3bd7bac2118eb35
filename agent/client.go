package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

// Failure classes, for exit codes.
var (
	ErrRefused = errors.New("refused by the server")
	ErrNetwork = errors.New("network error")
	ErrServer  = errors.New("server error")
	ErrVerify  = errors.New("verification failed")
	// ErrBusy is a session the server refused (409) because a backup of
	// the same host and VM is in flight: try again later.
	ErrBusy = errors.New("a backup of this VM is already running")
	// ErrInput is a local file the agent cannot use (a disk that is
	// missing, unreadable or not a regular file; a bad --changed-ranges
	// file), found before anything is sent.
	ErrInput = errors.New("bad input")
)

// UnreachableError is a request that found no server: the connection was
// refused, the name did not resolve, no route. It is a network error
// (errors.Is(err, ErrNetwork)).
type UnreachableError struct {
	Server string // the server URL
	Err    error  // why, e.g. "connection refused"
}

func (e *UnreachableError) Error() string {
	return "server not reachable at " + e.Server + ": " + e.Err.Error()
}

func (e *UnreachableError) Unwrap() []error { return []error{ErrNetwork, e.Err} }

// networkError classifies a failed request: a connection that could not
// be made is an *UnreachableError; anything else a network error naming
// the request, without the *url.Error that repeats its URL.
func (c *Client) networkError(method, u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		cause := op.Err
		var se *os.SyscallError
		if errors.As(cause, &se) {
			cause = se.Err // "connection refused", not "connect: connection refused"
		}
		return &UnreachableError{Server: strings.TrimRight(c.Server, "/"), Err: cause}
	}
	return fmt.Errorf("%w: %s %s: %w", ErrNetwork, method, u, err)
}

// APIError is an error answer of the server: its status, and the code
// and message of its body (for an answer without one, the status text and
// the body's text).
type APIError struct {
	Status  int
	Code    apiv1.Code
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Unwrap classifies the error: 4xx refused, 5xx server error.
func (e *APIError) Unwrap() error {
	if e.Status >= 500 {
		return ErrServer
	}
	return ErrRefused
}

// Client talks to a shadowvault server.
type Client struct {
	Server string // base URL, e.g. http://127.0.0.1:8420
	Token  string
	HTTP   *http.Client
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Do sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, size int64, out any) error {
	resp, err := c.send(ctx, method, path, body, size, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%w: decode answer to %s %s: %w", ErrServer, method, path, err)
	}
	return nil
}

// send performs a request; a non-2xx answer becomes an *APIError.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, size int64, hdr http.Header) (*http.Response, error) {
	u := strings.TrimRight(c.Server, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.networkError(method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e apiv1.ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			e.Error.Code, e.Error.Message = apiv1.Code(http.StatusText(resp.StatusCode)), strings.TrimSpace(string(data))
		}
		return nil, &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	return resp, nil
}

// DoJSON sends req as a JSON body and decodes a JSON answer into out (if
// not nil).
func (c *Client) DoJSON(ctx context.Context, method, path string, req, out any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode request to %s %s: %w", method, path, err)
	}
	return c.Do(ctx, method, path, bytes.NewReader(b), int64(len(b)), out)
}

// OpenSession starts a session and returns its id.
func (c *Client) OpenSession(ctx context.Context, req apiv1.SessionRequest) (string, error) {
	var s apiv1.Session
	err := c.DoJSON(ctx, http.MethodPost, "/api/v1/sessions", req, &s)
	return s.ID, err
}

// PutDisk streams size bytes of one disk.
func (c *Client) PutDisk(ctx context.Context, session, name string, r io.Reader, size int64, format string) (apiv1.DiskSummary, error) {
	return c.PutDiskWith(ctx, session, name, r, size, PutOptions{Format: format})
}

// PutOptions are the query parameters of a disk upload.
type PutOptions struct {
	Format string // "" to let the server detect
	// RCTID is the disk's resilient change tracking id as uploaded, kept
	// with the snapshot for the next incremental backup.
	RCTID string
}

func (o PutOptions) query() string {
	q := url.Values{}
	if o.Format != "" {
		q.Set("format", o.Format)
	}
	if o.RCTID != "" {
		q.Set("rct_id", o.RCTID)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// PutDiskWith streams one disk of size bytes with the options o.
func (c *Client) PutDiskWith(ctx context.Context, session, name string, r io.Reader, size int64, o PutOptions) (apiv1.DiskSummary, error) {
	p := "/api/v1/sessions/" + url.PathEscape(session) + "/disks/" + url.PathEscape(name) + o.query()
	var d apiv1.DiskSummary
	err := c.Do(ctx, http.MethodPut, p, r, size, &d)
	return d, err
}

// PutIncremental streams the changes of disk name over the same disk of
// snapshot base (an id or "latest"): a multipart/byteranges body of size
// bytes with boundary.
func (c *Client) PutIncremental(ctx context.Context, session, name, base, rctID string, body io.Reader, size int64, boundary string) (apiv1.DiskSummary, error) {
	p := "/api/v1/sessions/" + url.PathEscape(session) + "/disks/" + url.PathEscape(name) + "?base=" + url.QueryEscape(base)
	if rctID != "" {
		p += "&rct_id=" + url.QueryEscape(rctID)
	}
	hdr := http.Header{"Content-Type": {"multipart/byteranges; boundary=" + boundary}}
	resp, err := c.send(ctx, http.MethodPut, p, body, size, hdr)
	if err != nil {
		return apiv1.DiskSummary{}, err
	}
	defer resp.Body.Close()
	var sum apiv1.DiskSummary
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil {
		return sum, fmt.Errorf("%w: decode upload summary: %w", ErrServer, err)
	}
	return sum, nil
}

// Complete asks the server to commit the session and returns its receipt,
// unverified.
func (c *Client) Complete(ctx context.Context, session string) (apiv1.Receipt, error) {
	var rc apiv1.Receipt
	err := c.Do(ctx, http.MethodPost, "/api/v1/sessions/"+url.PathEscape(session)+"/complete", strings.NewReader(""), 0, &rc)
	return rc, err
}

// Abort discards a session.
func (c *Client) Abort(ctx context.Context, session string) error {
	return c.Do(ctx, http.MethodPost, "/api/v1/sessions/"+url.PathEscape(session)+"/abort", strings.NewReader(""), 0, nil)
}

// ReceiptKey fetches the server's public receipt key (hex).
func (c *Client) ReceiptKey(ctx context.Context) (string, error) {
	var k apiv1.ReceiptKey
	err := c.Do(ctx, http.MethodGet, "/api/v1/receipt-key", nil, 0, &k)
	return k.Key, err
}

// Restore streams a snapshot disk into w.
//
// A body that ends before its Content-Length is a server error (ErrServer):
// the server aborts a restore that way when it cannot read the disk (a
// damaged or missing pack). Other read failures are network errors
// (ErrNetwork); a failure to write w is returned as it is.
func (c *Client) Restore(ctx context.Context, snapshot, disk, format string, w io.Writer, progress func(done, total int64)) (int64, error) {
	p := "/api/v1/snapshots/" + url.PathEscape(snapshot) + "/disks/" + url.PathEscape(disk) + "?format=" + url.QueryEscape(format)
	return c.download(ctx, "restore "+snapshot+"/"+disk, p, w, progress)
}

// Cat streams a file download (the .../fs/{index}/cat?path= path) into w,
// with the error classes of Restore.
func (c *Client) Cat(ctx context.Context, path string, w io.Writer) (int64, error) {
	return c.download(ctx, "download", path, w, nil)
}

// download GETs path into w; what names it in errors.
func (c *Client) download(ctx context.Context, what, path string, w io.Writer, progress func(done, total int64)) (int64, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, 0, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	pr := &progressReader{r: resp.Body, total: resp.ContentLength, fn: progress}
	n, err := io.Copy(w, pr)
	switch {
	case err != nil && pr.err == nil: // the writer failed
		return n, fmt.Errorf("%s: write: %w", what, err)
	case err != nil && ctx.Err() != nil:
		return n, ctx.Err()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("%w: %s: the server ended the stream after %s: it failed while sending (e.g. a damaged or missing pack; see the server log)", ErrServer, what, ofBytes(n, resp.ContentLength))
	case err != nil:
		return n, fmt.Errorf("%w: %s: after %s: %w", ErrNetwork, what, ofBytes(n, resp.ContentLength), err)
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return n, fmt.Errorf("%w: %s: got %s", ErrServer, what, ofBytes(n, resp.ContentLength))
	}
	return n, nil
}

func ofBytes(n, total int64) string {
	if total < 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d of %d bytes", n, total)
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
	err   error // the last read error other than io.EOF
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.err = err
	}
	p.done += int64(n)
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
	return n, err
}

// Get streams the body of a GET; the caller closes it.
func (c *Client) Get(ctx context.Context, path string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
