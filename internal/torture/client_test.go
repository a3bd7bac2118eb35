package torture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client talks to one incarnation of the server: a new one (with its own
// connections) after every restart.
type client struct {
	base, token string
	hc          *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, hc: &http.Client{
		Timeout:   3 * time.Minute, // a hung server fails the test instead of hanging it
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
	}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// reply is an HTTP answer. err is set when no complete answer arrived (a
// refused or cut connection: the server was killed): then the request may
// or may not have taken effect.
type reply struct {
	status int
	body   []byte
	err    error
}

func (r reply) ok() bool { return r.err == nil && r.status/100 == 2 }

// code is the error code of a JSON error body ("" if there is none).
func (r reply) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

func (r reply) String() string {
	if r.err != nil && r.status != 0 {
		return fmt.Sprintf("%d, then the answer broke off: %v", r.status, r.err)
	}
	if r.err != nil {
		return "no answer: " + r.err.Error()
	}
	b := r.body
	var c bytes.Buffer
	if json.Compact(&c, b) == nil {
		b = c.Bytes()
	}
	if len(b) > 300 {
		b = append(b[:300:300], "..."...)
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(b))
}

func (c *client) do(ctx context.Context, method, path string, body []byte, ctype string) reply {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{status: resp.StatusCode, body: b, err: err}
	}
	return reply{status: resp.StatusCode, body: b}
}

func (c *client) postJSON(ctx context.Context, path string, v any) reply {
	if v == nil {
		return c.do(ctx, http.MethodPost, path, nil, "")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return reply{err: err}
	}
	return c.do(ctx, http.MethodPost, path, b, "application/json")
}

func (c *client) get(ctx context.Context, path string) reply {
	return c.do(ctx, http.MethodGet, path, nil, "")
}
