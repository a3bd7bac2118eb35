package torture

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowvault/shadowvault/receipt"
)

type opKind int

const (
	opUpload opKind = iota
	opComplete
	opForget
	opPrune
	opRepair
	nOps
)

var opNames = [nOps]string{"upload", "complete", "forget", "prune", "repair"}

var (
	hosts = []string{"HV01", "HV02"}
	vms   = []string{"SQL01", "EXCH01", "DC01"}
)

// timing keeps a moving average of how long each operation takes, so the
// killer can aim inside one.
type timing struct {
	mu  sync.Mutex
	avg [nOps]time.Duration
}

func (t *timing) add(op opKind, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.avg[op] == 0 {
		t.avg[op] = d
	}
	t.avg[op] = (4*t.avg[op] + d) / 5
}

// get returns the average, or a guess before the first success.
func (t *timing) get(op opKind) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.avg[op] > 0 {
		return t.avg[op]
	}
	return [nOps]time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 10 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}[op]
}

// epoch is the workload between two kills.
type epoch struct {
	n        int // the kill that ends it
	ctx      context.Context
	c        *client
	w        *world
	pool     *pool
	tm       *timing
	stopping atomic.Bool
	inflight [nOps]atomic.Int32
	runs     [nOps]bool   // which operations the workers do
	gate     sync.RWMutex // backups hold it shared; a quiet repair holds it alone
	heldMu   sync.Mutex
	held     map[[2]string]bool // host and VM of the sessions in flight; guarded by heldMu
}

// track counts op as in flight until the returned func is called; the
// durations of successful ones feed the timing.
func (e *epoch) track(op opKind) func(success bool) {
	e.inflight[op].Add(1)
	start := time.Now()
	return func(success bool) {
		e.inflight[op].Add(-1)
		if success {
			e.tm.add(op, time.Since(start))
		}
	}
}

// lost notes a request that got no answer. Only a kill may cause that.
func (e *epoch) lost(what string, r reply) {
	if !e.stopping.Load() {
		e.w.problem("kill %d: %s got no answer before any kill: %v", e.n, what, r.err)
	}
}

func (e *epoch) backupWorker(rng *rand.Rand) {
	for !e.stopping.Load() {
		if len(e.w.liveSnapshots("", "")) > liveCap { // forgets not running
			ctxSleep(e.ctx, 20*time.Millisecond)
			continue
		}
		e.gate.RLock()
		if !e.stopping.Load() {
			e.backup(rng)
		}
		e.gate.RUnlock()
		ctxSleep(e.ctx, time.Duration(rng.IntN(20))*time.Millisecond)
	}
}

// reserve picks a host and VM no session of this epoch holds (the server
// refuses a second session of a VM in flight, 409 SESSION_CONFLICT), and
// marks it held; ok is false when all are held.
func (e *epoch) reserve(rng *rand.Rand) (host, vm string, ok bool) {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	if e.held == nil {
		e.held = map[[2]string]bool{}
	}
	n := len(hosts) * len(vms)
	for i, start := 0, rng.IntN(n); i < n; i++ {
		k := (start + i) % n
		hv := [2]string{hosts[k/len(vms)], vms[k%len(vms)]}
		if !e.held[hv] {
			e.held[hv] = true
			return hv[0], hv[1], true
		}
	}
	return "", "", false
}

// release frees a host and VM once its session ended (receipted or
// aborted); one left open (a failed upload or complete) holds it for the
// rest of the epoch, as the server does until it expires.
func (e *epoch) release(s *session) {
	e.w.mu.Lock()
	ended := s.id == "" || s.state == sessReceipted || s.state == sessAborted
	e.w.mu.Unlock()
	if ended {
		e.heldMu.Lock()
		delete(e.held, [2]string{s.host, s.vm})
		e.heldMu.Unlock()
	}
}

func (e *epoch) backup(rng *rand.Rand) {
	host, vm, ok := e.reserve(rng)
	if !ok {
		return
	}
	s := &session{host: host, vm: vm, btype: "full",
		cons: []string{"application", "crash"}[rng.IntN(2)], epoch: e.n, disks: map[string]*diskSpec{}}
	defer e.release(s)
	req := map[string]any{"host": s.host, "vm": s.vm, "backup_type": s.btype, "consistency": s.cons}
	if s.cons == "application" {
		req["writers"] = []map[string]any{{"name": "SqlServerWriter", "id": "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a", "state": "stable"}}
	}
	r := e.c.postJSON(e.ctx, "/api/v1/sessions", req)
	var created struct{ ID string }
	if r.err != nil {
		e.lost("POST /api/v1/sessions", r)
		return
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &created) != nil || created.ID == "" {
		e.w.problem("kill %d: POST /api/v1/sessions answered %s", e.n, r)
		return
	}
	s.id = created.ID
	e.w.mu.Lock()
	e.w.sessions[s.id] = s
	e.w.stats.sessions++
	e.w.mu.Unlock()

	names := []string{"disk0.raw", "disk1.raw"}[:1+rng.IntN(2)]
	if rng.IntN(10) == 0 { // upload a disk again: the new one replaces it
		names = append(names, names[0])
	}
	for _, name := range names {
		ok := false
		if base, bd := e.baseFor(rng, s, name); bd != nil && rng.IntN(3) == 0 {
			d, ranges := e.pool.change(rng, bd)
			ok = e.uploadIncremental(s, base, d, ranges)
		} else {
			ok = e.upload(s, e.pool.newDisk(rng, name))
		}
		if !ok {
			return
		}
	}
	if rng.IntN(25) == 0 {
		e.abort(s)
		return
	}
	e.w.mu.Lock()
	s.state = sessCompleting
	e.w.mu.Unlock()
	done := e.track(opComplete)
	r = e.c.postJSON(e.ctx, "/api/v1/sessions/"+s.id+"/complete", nil)
	done(r.ok())
	var rc receipt.Receipt
	switch {
	case r.err != nil:
		e.lost("complete of session "+s.id, r)
		e.w.mu.Lock()
		s.state = sessUncertain
		e.w.mu.Unlock()
	case r.status == http.StatusOK && json.Unmarshal(r.body, &rc) == nil:
		for _, p := range e.w.receipted(s, r.body, rc, false) {
			e.w.problem("kill %d: %s", e.n, p)
		}
	default:
		e.w.mu.Lock()
		s.state = sessRefused
		e.w.mu.Unlock()
		e.w.problem("kill %d: complete of session %s (%s/%s, disks %v) answered %s", e.n, s.id, s.host, s.vm, s.diskNames(), r)
	}
}

// upload PUTs one raw disk; false ends the session (killed, or refused).
func (e *epoch) upload(s *session, d *diskSpec) bool {
	data := e.pool.render(d)
	done := e.track(opUpload)
	r := e.c.do(e.ctx, http.MethodPut, "/api/v1/sessions/"+s.id+"/disks/"+d.name+"?format=raw", data, "application/octet-stream")
	done(r.ok())
	if r.err != nil {
		e.lost("upload of "+d.name, r)
		return false
	}
	var sum struct {
		Format       string `json:"format"`
		StreamBytes  int64  `json:"stream_bytes"`
		StreamBLAKE3 string `json:"stream_blake3"`
		VirtualSize  int64  `json:"virtual_size"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &sum) != nil {
		e.w.problem("kill %d: upload of %s (%d bytes) to session %s answered %s", e.n, d.name, d.size, s.id, r)
		e.abort(s)
		return false
	}
	if sum.StreamBytes != int64(d.size) || sum.StreamBLAKE3 != d.blake3 || sum.VirtualSize != int64(d.size) || sum.Format != "raw" {
		e.w.problem("kill %d: upload of %s to session %s: summary %+v, sent %d bytes with BLAKE3 %s", e.n, d.name, s.id, sum, d.size, d.blake3)
	}
	e.w.mu.Lock()
	s.disks[d.name] = d
	e.w.stats.uploads++
	e.w.mu.Unlock()
	return true
}

func (e *epoch) abort(s *session) {
	r := e.c.postJSON(e.ctx, "/api/v1/sessions/"+s.id+"/abort", nil)
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if r.ok() {
		s.state = sessAborted
		e.w.stats.aborts++
	} // otherwise it stays open: abandoned at the kill
}
