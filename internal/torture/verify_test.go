package torture

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"

	"github.com/shadowvault/shadowvault/receipt"
)

// The invariants, checked through the public API after every restart.
var invariantNames = map[int]string{
	0: "sane answers during the workload",
	1: "every receipt names a listed snapshot unless deliberately forgotten",
	2: "every listed snapshot restores byte-identical",
	3: "check with read_data_percent 100 is ok",
	4: "retried complete returns the same receipt, or a 4xx with a code",
	5: "receipts verify against the receipt key",
}

type verifier struct {
	ctx        context.Context
	c          *client
	w          *world
	pool       *pool
	rng        *rand.Rand
	violations []string
}

func (v *verifier) fail(inv int, format string, args ...any) {
	if len(v.violations) < 40 {
		v.violations = append(v.violations, fmt.Sprintf("invariant %d (%s): %s", inv, invariantNames[inv], fmt.Sprintf(format, args...)))
	}
}

// verify checks every invariant; it returns what is broken, by invariant.
func (v *verifier) verify() []string {
	defer func() {
		sort.SliceStable(v.violations, func(i, j int) bool { return v.violations[i][:12] < v.violations[j][:12] })
	}()
	for _, p := range v.w.takeProblems() {
		v.fail(0, "%s", p)
	}
	v.receiptKey()
	v.retryUncertain()
	listed, ok := v.listSnapshots()
	if ok {
		v.catalogue(listed)
		v.restores(listed)
	}
	v.retryReceipted(listed)
	v.check()
	return v.violations
}

func (v *verifier) receiptKey() {
	r := v.c.get(v.ctx, "/api/v1/receipt-key")
	var k struct {
		Key string `json:"receipt_key"`
	}
	if !r.ok() || json.Unmarshal(r.body, &k) != nil {
		v.fail(5, "GET /api/v1/receipt-key answered %s", r)
		return
	}
	if k.Key != hex.EncodeToString(v.w.pub) {
		v.fail(5, "receipt key changed across restarts: %s, first start served %x", k.Key, []byte(v.w.pub))
	}
	v.w.mu.Lock()
	defer v.w.mu.Unlock()
	for _, s := range v.w.bySnap {
		if err := receipt.Verify(s.rc, v.w.pub); err != nil {
			v.fail(5, "receipt of session %s (snapshot %s): %v", s.id, s.rc.Snapshot, err)
		}
	}
}

// complete retries POST .../complete of session s.
func (v *verifier) complete(s *session) (reply, *receipt.Receipt) {
	r := v.c.postJSON(v.ctx, "/api/v1/sessions/"+s.id+"/complete", nil)
	v.w.mu.Lock()
	v.w.stats.completeRetries++
	v.w.mu.Unlock()
	var rc receipt.Receipt
	if r.err == nil && r.status == http.StatusOK && json.Unmarshal(r.body, &rc) == nil {
		return r, &rc
	}
	return r, nil
}

// retryUncertain retries the completes that were in flight at a kill: a
// receipt (then the snapshot must exist and restore), or a 4xx with a code.
// They are retried after every restart: a rebuilt index may bring a stored
// manifest back, and then complete must return its receipt.
func (v *verifier) retryUncertain() {
	v.w.mu.Lock()
	var list []*session
	for _, s := range v.w.sessions {
		if s.state == sessUncertain {
			list = append(list, s)
		}
	}
	v.w.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	for _, s := range list {
		r, rc := v.complete(s)
		switch {
		case rc != nil:
			for _, p := range v.w.receipted(s, r.body, *rc, true) {
				v.fail(5, "after the kill of its complete (kill %d): %s", s.epoch, p)
			}
		case r.err == nil && r.status/100 == 4 && r.code() != "":
		default:
			v.fail(4, "retried complete of session %s, in flight at kill %d, answered %s", s.id, s.epoch, r)
		}
	}
}

type listedSnap struct {
	ID    string `json:"id"`
	Host  string `json:"host"`
	VM    string `json:"vm"`
	Disks []struct {
		Name        string `json:"name"`
		VirtualSize int64  `json:"virtual_size"`
	} `json:"disks"`
}

func (v *verifier) listSnapshots() (map[string]listedSnap, bool) {
	r := v.c.get(v.ctx, "/api/v1/snapshots")
	var l struct{ Snapshots []listedSnap }
	if !r.ok() || json.Unmarshal(r.body, &l) != nil {
		v.fail(1, "GET /api/v1/snapshots answered %s", r)
		return nil, false
	}
	m := map[string]listedSnap{}
	for _, s := range l.Snapshots {
		m[s.ID] = s
	}
	v.w.mu.Lock()
	v.w.stats.snapshotsListedMax = max(v.w.stats.snapshotsListedMax, len(m))
	v.w.stats.snapshotsListedEnd = len(m)
	v.w.mu.Unlock()
	return m, true
}

// catalogue: every receipt's snapshot is listed unless forgotten; nothing
// forgotten comes back; nothing the test cannot account for is listed.
func (v *verifier) catalogue(listed map[string]listedSnap) {
	v.w.mu.Lock()
	defer v.w.mu.Unlock()
	var ids []string
	for id := range v.w.bySnap {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := v.w.bySnap[id]
		_, isListed := listed[id]
		k, forgotten := v.w.forgotten[id]
		_, maybe := v.w.maybeGone[id]
		switch {
		case !isListed && !forgotten && !maybe:
			v.fail(1, "snapshot %s (session %s, %s/%s, receipted before kill %d, disks %v) is not listed: the receipt promised it",
				id, s.id, s.host, s.vm, s.epoch, s.diskNames())
		case isListed && forgotten:
			v.fail(1, "snapshot %s was forgotten (2xx before kill %d) but is listed again", id, k)
		}
	}
	for id, l := range listed {
		if _, known := v.w.bySnap[id]; known {
			continue
		}
		v.w.mu.Unlock()
		r := v.c.get(v.ctx, "/api/v1/snapshots/"+id)
		v.w.mu.Lock()
		var m struct{ Session string }
		if !r.ok() || json.Unmarshal(r.body, &m) != nil {
			v.fail(1, "snapshot %s is listed but GET /api/v1/snapshots/%s answered %s", id, id, r)
			continue
		}
		s := v.w.sessions[m.Session]
		switch {
		case s == nil:
			v.fail(1, "snapshot %s (%s/%s) is listed, of session %q that the test never opened", id, l.Host, l.VM, m.Session)
		case s.state == sessUncertain:
			v.fail(4, "snapshot %s of session %s is listed, but retried complete of that session did not return its receipt", id, s.id)
		default:
			v.fail(1, "snapshot %s is listed, of session %s that is %s (never receipted): nothing may appear for it", id, s.id, s.state)
		}
	}
}

// restores: every listed snapshot the test knows restores raw and original
// byte-identical to what was sent, with the disks the session uploaded.
func (v *verifier) restores(listed map[string]listedSnap) {
	v.w.mu.Lock()
	var todo []*session
	for id, s := range v.w.bySnap {
		if _, ok := listed[id]; ok {
			todo = append(todo, s)
		}
	}
	v.w.mu.Unlock()
	sort.Slice(todo, func(i, j int) bool { return todo[i].rc.Snapshot < todo[j].rc.Snapshot })
	for _, s := range todo {
		id := s.rc.Snapshot
		l := listed[id]
		var names []string
		for _, d := range l.Disks {
			names = append(names, d.Name)
		}
		sort.Strings(names)
		if want := s.diskNames(); strings.Join(names, ",") != strings.Join(want, ",") {
			v.fail(2, "snapshot %s lists disks %v, the session uploaded %v", id, names, want)
			continue
		}
		for _, name := range names {
			spec := s.disks[name]
			want := v.pool.render(spec)
			for _, format := range []string{"raw", "original"} {
				r := v.c.get(v.ctx, "/api/v1/snapshots/"+id+"/disks/"+name+"?format="+format)
				v.w.mu.Lock()
				v.w.stats.restoresChecked++
				v.w.stats.restoreBytes += len(r.body)
				v.w.mu.Unlock()
				if !r.ok() {
					v.fail(2, "restore of snapshot %s (receipted before kill %d) disk %s format %s answered %s", id, s.epoch, name, format, r)
					continue
				}
				if !bytes.Equal(r.body, want) {
					v.fail(2, "restore of snapshot %s (receipted before kill %d) disk %s format %s: %s", id, s.epoch, name, format, diff(r.body, want))
				}
			}
		}
	}
}

func diff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("%d bytes, want %d; first difference at offset %d", len(got), len(want), i)
		}
	}
	return fmt.Sprintf("%d bytes, want %d (equal up to the shorter)", len(got), len(want))
}

// retryReceipted: complete of a receipted session returns the same receipt;
// a 4xx with a code is accepted only once the snapshot is gone (forgotten).
func (v *verifier) retryReceipted(listed map[string]listedSnap) {
	v.w.mu.Lock()
	var list, gone []*session
	for id, s := range v.w.bySnap {
		if _, f := v.w.forgotten[id]; f {
			gone = append(gone, s)
		} else {
			list = append(list, s)
		}
	}
	v.w.mu.Unlock()
	// Forgotten ones may answer either way: a sample of them is enough.
	sort.Slice(gone, func(i, j int) bool { return gone[i].rc.Snapshot < gone[j].rc.Snapshot })
	v.rng.Shuffle(len(gone), func(i, j int) { gone[i], gone[j] = gone[j], gone[i] })
	list = append(list, gone[:min(len(gone), 10)]...)
	sort.Slice(list, func(i, j int) bool { return list[i].rc.Snapshot < list[j].rc.Snapshot })
	for _, s := range list {
		r, rc := v.complete(s)
		_, isListed := listed[s.rc.Snapshot]
		switch {
		case rc != nil:
			if rc.Snapshot != s.rc.Snapshot || rc.Signature != s.rc.Signature {
				v.fail(4, "retried complete of session %s: snapshot %s signature %.16s..., first receipt had %s %.16s...",
					s.id, rc.Snapshot, rc.Signature, s.rc.Snapshot, s.rc.Signature)
			} else if a, b := canonical(*rc), canonical(s.rc); !bytes.Equal(a, b) {
				v.fail(4, "retried complete of session %s: receipt %s, first receipt %s", s.id, a, b)
			}
			if err := receipt.Verify(*rc, v.w.pub); err != nil {
				v.fail(5, "retried complete of session %s: %v", s.id, err)
			}
		case r.err == nil && r.status/100 == 4 && r.code() != "":
			if isListed {
				v.fail(4, "retried complete of session %s answered %s, yet its snapshot %s is listed (complete is idempotent)", s.id, r, s.rc.Snapshot)
			}
		default:
			v.fail(4, "retried complete of session %s (snapshot %s) answered %s", s.id, s.rc.Snapshot, r)
		}
	}
}

func canonical(rc receipt.Receipt) []byte {
	b, err := receipt.Canonical(rc)
	if err != nil {
		return []byte(err.Error())
	}
	return append(b, rc.Signature...)
}

func (v *verifier) check() {
	r := v.c.postJSON(v.ctx, "/api/v1/check", map[string]any{"read_data_percent": 100})
	v.w.mu.Lock()
	v.w.stats.checks++
	v.w.mu.Unlock()
	var res struct {
		OK       bool              `json:"ok"`
		Damaged  []json.RawMessage `json:"damaged"`
		Problems []string          `json:"problems"`
		DataRead bool              `json:"data_read"`
	}
	if !r.ok() || json.Unmarshal(r.body, &res) != nil {
		v.fail(3, "POST /api/v1/check answered %s", r)
		return
	}
	if !res.DataRead {
		v.fail(3, "check with read_data_percent 100 did not read the data: %s", r)
	}
	if !res.OK {
		p := res.Problems[:min(len(res.Problems), 20)]
		d := res.Damaged[:min(len(res.Damaged), 10)]
		v.fail(3, "check is not ok: %d problems, %d damaged disks:\n\t%s\n\tdamaged: %s",
			len(res.Problems), len(res.Damaged), strings.Join(p, "\n\t"), bytes.Join(rawList(d), []byte(", ")))
	}
}

func rawList(l []json.RawMessage) [][]byte {
	out := make([][]byte, len(l))
	for i, m := range l {
		out[i] = bytes.Join(bytes.Fields(m), []byte(" "))
	}
	return out
}
