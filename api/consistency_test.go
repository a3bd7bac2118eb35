package api_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// A session that does not say VSS writers prepared the guest is
// crash-consistent: its receipt never lets the guest truncate its logs.
func TestConsistencyDefaultsToCrash(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s.Client("")
	id, err := c.OpenSession(context.Background(), apiv1.SessionRequest{Host: "HV01", VM: "VM1", BackupType: "full"})
	if err != nil {
		t.Fatal(err)
	}
	data := random(1 << 20)
	if _, err := c.PutDisk(context.Background(), id, "d.raw", bytes.NewReader(data), int64(len(data)), "raw"); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Consistency != "crash" || rc.TruncateLogs {
		t.Fatalf("receipt without a stated consistency: %q, truncate_logs %v; want crash, false", rc.Consistency, rc.TruncateLogs)
	}
}
