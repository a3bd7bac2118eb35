package api_test

import (
	"io"
	"net/http"
)

// heldUpload is a PUT whose body the test writes and holds open: write to
// pw, close it to end the upload; done receives the status (-1 when the
// request failed).
type heldUpload struct {
	pw   *io.PipeWriter
	done chan int
}

// holdUpload starts a PUT of url with token, whose body comes from the
// returned upload's pw.
func holdUpload(url, token string) heldUpload {
	pr, pw := io.Pipe()
	h := heldUpload{pw: pw, done: make(chan int, 1)}
	go func() {
		req, _ := http.NewRequest("PUT", url, pr)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			h.done <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h.done <- resp.StatusCode
	}()
	return h
}
