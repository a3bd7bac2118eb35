package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

func TestIndexObjectRoundTrip(t *testing.T) {
	o := indexObject{pack: chunk.Sum([]byte("pack")), size: 16 << 20, created: time.Unix(0, 1700000000123456789)}
	for i := range 3 {
		o.entries = append(o.entries, index.Entry{ID: chunk.Sum([]byte{byte(i)}), Offset: uint64(i) << 20, Length: 1000 + uint32(i), RawLength: 2000, Compression: chunk.Compression(1)})
	}
	b := encodeIndexObject(o)
	if want := 4 + 1 + 32 + 8 + 8 + 4 + 3*indexEntrySize + 32; len(b) != want {
		t.Fatalf("index object of 3 entries: %d bytes, want %d", len(b), want)
	}
	got, err := decodeIndexObject(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.pack != o.pack || got.size != o.size || !got.created.Equal(o.created) || fmt.Sprint(got.entries) != fmt.Sprint(o.entries) {
		t.Fatalf("round trip: %+v, want %+v", got, o)
	}
	b[60]++
	if _, err := decodeIndexObject(b); !errors.Is(err, errBadIndexObject) {
		t.Fatalf("a changed byte: %v, want errBadIndexObject", err)
	}
	name := indexObjectName(o.created, "node-1.a", o.pack)
	stamp, id, err := parseIndexObjectName(name)
	if err != nil || id != o.pack || !stamp.Equal(o.created) {
		t.Fatalf("parse %q: %v %v %v", name, stamp, id, err)
	}
	if err := (backend.Handle{Type: backend.TypeIndex, Name: name}).Valid(); err != nil {
		t.Fatal(err)
	}
	// Names sort by stamp.
	if later := indexObjectName(o.created.Add(time.Nanosecond), "a", o.pack); later <= name[:17] {
		t.Fatalf("%q does not sort after %q", later, name)
	}
}

// swapper is an in-memory compare-and-swap store.
type swapper struct {
	mu   sync.Mutex
	data map[backend.Handle][]byte
	tags map[backend.Handle]int
}

func (s *swapper) GetTagged(_ context.Context, h backend.Handle) ([]byte, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[h]
	if !ok {
		return nil, "", backend.ErrNotFound
	}
	return d, fmt.Sprint(s.tags[h]), nil
}

func (s *swapper) PutIf(_ context.Context, h backend.Handle, data []byte, match string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.data[h]
	if match == "" && ok || match != "" && (!ok || match != fmt.Sprint(s.tags[h])) {
		return "", backend.ErrPrecondition
	}
	s.tags[h]++
	s.data[h] = append([]byte(nil), data...)
	return fmt.Sprint(s.tags[h]), nil
}

func testNodes(lease time.Duration, now *time.Time, names ...string) []*cluster {
	sw := &swapper{data: map[backend.Handle][]byte{}, tags: map[backend.Handle]int{}}
	var out []*cluster
	for _, n := range names {
		r := &Repository{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return *now }}
		out = append(out, &cluster{r: r, node: n, lease: lease, swap: sw})
	}
	return out
}

func TestMaintenanceLease(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	nodes := testNodes(time.Hour, &now, "a", "b")
	a, b := nodes[0], nodes[1]
	_, release, err := a.acquire(ctx, "prune")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.acquire(ctx, "prune"); !errors.Is(err, ErrMaintenanceElsewhere) {
		t.Fatalf("a second node took a held lease: %v", err)
	}
	release()
	_, releaseB, err := b.acquire(ctx, "repair")
	if err != nil {
		t.Fatalf("a released lease was not free: %v", err)
	}
	// b dies holding it (no release, no renewal): the lease is free once
	// its expiry is half a lease past.
	_ = releaseB
	if _, _, err := a.acquire(ctx, "prune"); !errors.Is(err, ErrMaintenanceElsewhere) {
		t.Fatalf("a fresh lease of a dead node was taken at once: %v", err)
	}
	now = now.Add(time.Hour + time.Hour/2 + time.Second)
	if _, release, err := a.acquire(ctx, "prune"); err != nil {
		t.Fatalf("an expired lease was not taken over: %v", err)
	} else {
		release()
	}
}

func TestMaintenanceLeaseRenewedAndSkew(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	nodes := testNodes(100*time.Millisecond, &now, "a", "b")
	a, b := nodes[0], nodes[1]
	nodes[0].r.now, nodes[1].r.now = time.Now, time.Now
	_, release, err := a.acquire(ctx, "prune")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // a renews: b never sees it free, though each look is a lease apart
		time.Sleep(100 * time.Millisecond)
		if _, _, err := b.acquire(ctx, "prune"); !errors.Is(err, ErrMaintenanceElsewhere) {
			t.Fatalf("a renewed lease was taken: %v", err)
		}
	}
	release()

	// A dead holder whose clock ran a day ahead: its expiry says the lease
	// runs on, but b, seeing the same ETag unchanged for a whole lease,
	// takes it.
	data, _ := json.Marshal(leaseRecord{Node: "dead", Job: "prune", Expires: time.Now().Add(24 * time.Hour)})
	_, tag, _ := a.swap.GetTagged(ctx, leaseHandle)
	if _, err := a.swap.PutIf(ctx, leaseHandle, data, tag); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.acquire(ctx, "prune"); !errors.Is(err, ErrMaintenanceElsewhere) {
		t.Fatalf("first look at a dead node's lease: %v, want ErrMaintenanceElsewhere", err)
	}
	time.Sleep(110 * time.Millisecond)
	_, release, err = b.acquire(ctx, "prune")
	if err != nil {
		t.Fatalf("a lease unchanged for a whole lease was not taken: %v", err)
	}
	release()
}
