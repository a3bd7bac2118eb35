package agent

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
)

// maxWriterMetadata is the server's bound on the document.
const maxWriterMetadata = 16 << 20

// sendWriterMetadata sends the VSS writer metadata document in path for the
// session: PUT /api/v1/sessions/{id}/writer-metadata.
func sendWriterMetadata(ctx context.Context, c *Client, session, path string) error {
	doc, err := readWriterMetadata(path)
	if err != nil {
		return err
	}
	err = c.Do(ctx, http.MethodPut, "/api/v1/sessions/"+session+"/writer-metadata", bytes.NewReader(doc), int64(len(doc)), nil)
	if err != nil {
		return fmt.Errorf("send writer metadata: %w", err)
	}
	return nil
}

// readWriterMetadata reads the document in path; a problem is ErrInput.
func readWriterMetadata(path string) ([]byte, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: writer metadata: %w", ErrInput, err)
	}
	if len(doc) == 0 || len(doc) > maxWriterMetadata {
		return nil, fmt.Errorf("%w: writer metadata %s: %d bytes (1 to %d)", ErrInput, path, len(doc), maxWriterMetadata)
	}
	return doc, nil
}
