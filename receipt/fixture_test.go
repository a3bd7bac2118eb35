package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// Receipts as the server of commit c8e4d3b sent them (its complete answer,
// byte for byte) with the receipt keys that signed them. Every receipt ever
// signed must still verify, and decode and encode to the same JSON.
var fixtures = []struct {
	name, key, body string
	truncate        bool
}{
	{"full application, HTML characters in the VM name", "565e5d7ff810f49170d5d57ef9c51dcebe00e5686f575de0e13b3778a751f20f", `{
  "session": "18ed478ad4140d0e253c30b9eb11ea7d",
  "snapshot": "18ed478adc15e3fb6b3b7a5dfd98c131",
  "host": "HV01",
  "vm": "SQL\u003c01\u003e\u0026",
  "backup_type": "full",
  "consistency": "application",
  "truncate_logs": true,
  "disks": [
    {
      "name": "disk0.raw",
      "format": "raw",
      "virtual_size": 1048576,
      "stream_bytes": 1048576,
      "stream_blake3": "af2548281f0b07d1a912504ee769e9326d4a11e0a6dc57fed5214909d8a57127",
      "new_bytes": 1048576,
      "stored_bytes": 1048576
    },
    {
      "name": "disk1.raw",
      "format": "raw",
      "virtual_size": 3145728,
      "stream_bytes": 3145728,
      "stream_blake3": "598e4ed0a91e7b644ad5f4391430be58c32de0aaefeca18e67b86417bf525630",
      "new_bytes": 3080192,
      "stored_bytes": 457
    }
  ],
  "committed_at": "2026-12-02T00:14:48Z",
  "signature": "a817e7cfa19fd8b302ec93055fc44101ed741ff3a1af3bc41d6a0761e56d71d26b3cd3e484dc004eaf58a5f130b3719ddc79657250786079f84478e5d86ad800"
}`, true},
	{"copy crash", "b4cb74ee63bd1d18a3570a254190a3a0f5319018284ba324acfb5a0828a31a51", `{
  "session": "18ed478cb1ca1883610761d1ea245fa2",
  "snapshot": "18ed478cb53cc293327177d932540797",
  "host": "HV01",
  "vm": "FS02",
  "backup_type": "copy",
  "consistency": "crash",
  "truncate_logs": false,
  "disks": [
    {
      "name": "disk0.raw",
      "format": "raw",
      "virtual_size": 1048576,
      "stream_bytes": 1048576,
      "stream_blake3": "af2548281f0b07d1a912504ee769e9326d4a11e0a6dc57fed5214909d8a57127",
      "new_bytes": 1048576,
      "stored_bytes": 1048576
    },
    {
      "name": "disk1.raw",
      "format": "raw",
      "virtual_size": 524288,
      "stream_bytes": 524288,
      "stream_blake3": "ecd569102e80a30e921f7220dbb4ad28c3fab13206398ad888069a4d92083b5a",
      "new_bytes": 524288,
      "stored_bytes": 524288
    }
  ],
  "committed_at": "2026-12-02T00:14:56Z",
  "signature": "f836344c1a2da3bb84a573de50411642ebacea9730c32f2facb6c02ad60a81c6fa8ee520de3f9a581937e8dc26bc36f0061996413f455912db7ccbd05108030c"
}`, false},
}

func TestOldReceiptsVerify(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			pub, err := ParsePublicKey(f.key)
			if err != nil {
				t.Fatal(err)
			}
			var r Receipt
			if err := json.Unmarshal([]byte(f.body), &r); err != nil {
				t.Fatal(err)
			}
			if err := Verify(r, pub); err != nil {
				t.Fatalf("a receipt signed before verifies no more: %v", err)
			}
			if !r.BackupType.Valid() || !r.Consistency.Valid() || TruncateLogs(r.BackupType, r.Consistency) != f.truncate || r.TruncateLogs != f.truncate {
				t.Fatalf("settings %q %q truncate_logs %v, want truncate_logs %v", r.BackupType, r.Consistency, r.TruncateLogs, f.truncate)
			}
			// The wire form is unchanged: the server's encoder (indented,
			// HTML escaped) makes the same bytes of the decoded receipt.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
			if got := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); string(got) != f.body {
				t.Fatalf("the receipt encodes differently now:\n%s\nwant:\n%s", got, f.body)
			}
			r.Disks[0].StoredBytes++
			if err := Verify(r, pub); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("a changed old receipt verified: %v", err)
			}
		})
	}
}
