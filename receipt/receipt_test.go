package receipt

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func sample() Receipt {
	return Receipt{
		Session: "s1", Snapshot: "snap1", Host: "HV01", VM: "SQL<01>&", BackupType: "full",
		Consistency: "application", TruncateLogs: true,
		Disks:       []Disk{{Name: "disk0.vhdx", Format: "vhdx", VirtualSize: 1 << 40, StreamBytes: 123, StreamBLAKE3: "ab"}},
		CommittedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	r := sample()
	if err := Sign(&r, priv); err != nil {
		t.Fatal(err)
	}
	if err := Verify(r, pub); err != nil {
		t.Fatalf("verify: %v", err)
	}
	tampered := []func(*Receipt){
		func(r *Receipt) { r.TruncateLogs = false },
		func(r *Receipt) { r.Disks[0].StreamBLAKE3 = "cd" },
		func(r *Receipt) { r.Disks[0].VirtualSize++ },
		func(r *Receipt) { r.Host = "HV02" },
		func(r *Receipt) { r.CommittedAt = r.CommittedAt.Add(time.Second) },
		func(r *Receipt) { r.Signature = strings.Repeat("0", 128) },
	}
	for i, f := range tampered {
		c := r
		c.Disks = append([]Disk(nil), r.Disks...)
		f(&c)
		if err := Verify(c, pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("tampering %d verified: %v", i, err)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := Verify(r, other); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verified with another key: %v", err)
	}
}

func TestCanonicalForm(t *testing.T) {
	b, err := Canonical(sample())
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "signature") || strings.ContainsAny(s, " \n") {
		t.Fatalf("canonical form has a signature or whitespace: %s", s)
	}
	if !strings.HasPrefix(s, `{"backup_type":"full","committed_at":`) || !strings.Contains(s, `"SQL<01>&"`) {
		t.Fatalf("keys not sorted or HTML escaped: %s", s)
	}
	if !strings.Contains(s, `"virtual_size":1099511627776`) {
		t.Fatalf("large integer not kept exactly: %s", s)
	}
}

func TestSettings(t *testing.T) {
	for _, s := range []string{"full", "copy"} {
		if bt, err := ParseBackupType(s); err != nil || bt.String() != s || !bt.Valid() {
			t.Errorf("ParseBackupType(%q) = %q, %v", s, bt, err)
		}
	}
	for _, s := range []string{"application", "crash"} {
		if c, err := ParseConsistency(s); err != nil || c.String() != s || !c.Valid() {
			t.Errorf("ParseConsistency(%q) = %q, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "Full", "incremental"} {
		if _, err := ParseBackupType(s); err == nil {
			t.Errorf("ParseBackupType(%q): no error", s)
		}
		if _, err := ParseConsistency(s); err == nil {
			t.Errorf("ParseConsistency(%q): no error", s)
		}
	}
	for _, tc := range []struct {
		t    BackupType
		c    Consistency
		want bool
	}{
		{BackupFull, ConsistencyApplication, true},
		{BackupFull, ConsistencyCrash, false},
		{BackupCopy, ConsistencyApplication, false},
		{BackupCopy, ConsistencyCrash, false},
		{"", ConsistencyApplication, false},
	} {
		if got := TruncateLogs(tc.t, tc.c); got != tc.want {
			t.Errorf("TruncateLogs(%q, %q) = %v", tc.t, tc.c, got)
		}
	}
}
