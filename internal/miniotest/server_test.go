package miniotest

import (
	"net/http"
	"strings"
	"testing"
)

func ready(t *testing.T, s *Server) bool {
	t.Helper()
	resp, err := http.Get(s.URL() + "/minio/health/ready")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !ready(t, s) {
		t.Fatal("not ready after Start")
	}
	endpoint := s.Endpoint
	s.Stop()
	if ready(t, s) {
		t.Fatal("still answering after Stop")
	}
	s.Stop() // twice is fine
	s.Restart()
	if s.Endpoint != endpoint || !ready(t, s) {
		t.Fatalf("after Restart: endpoint %s (was %s), ready=%v", s.Endpoint, endpoint, ready(t, s))
	}
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("SHADOWVAULT_CACHE", t.TempDir())
	_, err := New()
	if err == nil {
		t.Fatal("New without a binary succeeded")
	}
	if !strings.Contains(err.Error(), "scripts/ensure-minio.sh") {
		t.Fatalf("error does not say how to get the binary: %v", err)
	}
}
