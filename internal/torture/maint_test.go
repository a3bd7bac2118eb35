package torture

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// The maintenance workers: forget, prune and repair index.

// forgetWorker works like retention that runs now and then: once more than
// liveMax snapshots are live it forgets down to liveMin, then rests, so
// that prunes see repositories with garbage and without.
func (e *epoch) forgetWorker(rng *rand.Rand) {
	burst := false
	for ctxSleep(e.ctx, time.Duration(5+rng.IntN(30))*time.Millisecond) && !e.stopping.Load() {
		ids := e.w.liveSnapshots("", "")
		switch {
		case len(ids) > liveMax:
			burst = true
		case len(ids) <= liveMin:
			burst = false
		}
		if !burst {
			continue
		}
		id := ids[rng.IntN(len(ids))]
		if rng.IntN(5) == 0 {
			e.w.mu.Lock()
			s := e.w.bySnap[id]
			e.w.mu.Unlock()
			e.policyForget(s.host, s.vm, 1+rng.IntN(3))
		} else {
			e.forgetOne(id)
		}
	}
}

const (
	liveMin = 10
	liveMax = 30
	liveCap = 2 * liveMax // backups wait above it (without forgets)
)

func (e *epoch) forgetOne(id string) {
	why := fmt.Sprintf("DELETE in flight at kill %d", e.n)
	e.w.mu.Lock()
	e.w.maybeGone[id] = why
	e.w.stats.forgetCalls++
	e.w.mu.Unlock()
	done := e.track(opForget)
	r := e.c.do(e.ctx, http.MethodDelete, "/api/v1/snapshots/"+id, nil, "")
	done(r.ok())
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	switch {
	case r.err != nil: // stays maybe gone
	case r.ok():
		delete(e.w.maybeGone, id)
		e.w.forgotten[id] = e.n
		e.w.stats.forgotten++
	case r.status/100 == 4: // refused: still there (if not, the listing check tells)
		delete(e.w.maybeGone, id)
	default:
		e.w.maybeGone[id] = fmt.Sprintf("DELETE answered %d at kill %d", r.status, e.n)
		e.w.problemLocked("kill %d: DELETE /api/v1/snapshots/%s answered %s", e.n, id, r)
	}
}

// policyForget applies keep_last to one host/VM. While it is in flight
// every snapshot of that host/VM may go; its answer says which went.
func (e *epoch) policyForget(host, vm string, keep int) {
	why := fmt.Sprintf("policy forget of %s/%s in flight at kill %d", host, vm, e.n)
	e.w.mu.Lock()
	marked := map[string]bool{}
	for id, s := range e.w.bySnap {
		if _, f := e.w.forgotten[id]; !f && s.host == host && s.vm == vm {
			if _, m := e.w.maybeGone[id]; !m {
				e.w.maybeGone[id] = why
				marked[id] = true
			}
		}
	}
	e.w.stats.forgetCalls++
	e.w.mu.Unlock()
	done := e.track(opForget)
	r := e.c.postJSON(e.ctx, "/api/v1/forget", map[string]any{"host": host, "vm": vm, "policy": map[string]any{"keep_last": keep}})
	done(r.ok())
	var res struct {
		Remove []struct{ Snapshot string } `json:"remove"`
	}
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if r.ok() && json.Unmarshal(r.body, &res) == nil {
		for id := range marked {
			if e.w.maybeGone[id] == why {
				delete(e.w.maybeGone, id)
			}
		}
		for _, d := range res.Remove {
			delete(e.w.maybeGone, d.Snapshot)
			e.w.forgotten[d.Snapshot] = e.n
			e.w.stats.forgotten++
		}
		e.w.stats.policyForgets++
		return
	}
	if r.err == nil {
		e.w.problemLocked("kill %d: POST /api/v1/forget %s/%s keep_last %d answered %s", e.n, host, vm, keep, r)
	}
	// No answer, or an error part way: any snapshot of the group, even
	// one receipted meanwhile, may be gone.
	for id, s := range e.w.bySnap {
		if _, f := e.w.forgotten[id]; !f && s.host == host && s.vm == vm {
			if _, m := e.w.maybeGone[id]; !m {
				e.w.maybeGone[id] = why
			}
		}
	}
}

func (e *epoch) pruneWorker(rng *rand.Rand) {
	for ctxSleep(e.ctx, time.Duration(30+rng.IntN(250))*time.Millisecond) && !e.stopping.Load() {
		var body any = map[string]any{"grace": "1ns", "repack_below": 0.9}
		if rng.IntN(4) == 0 {
			body = nil // the defaults: 1 h grace, so nothing this young goes
		}
		e.gate.RLock() // a quiet repair waits for it
		done := e.track(opPrune)
		r := e.c.postJSON(e.ctx, "/api/v1/prune", body)
		done(r.ok())
		e.gate.RUnlock()
		var res struct {
			PacksDeleted   int `json:"packs_deleted"`
			PacksRewritten int `json:"packs_rewritten"`
		}
		switch {
		case r.err != nil:
			e.lost("prune", r)
			return
		case r.status == http.StatusOK && json.Unmarshal(r.body, &res) == nil:
			e.w.mu.Lock()
			e.w.stats.prunes++
			e.w.stats.packsDeleted += res.PacksDeleted
			e.w.stats.packsRewritten += res.PacksRewritten
			if res.PacksDeleted+res.PacksRewritten > 0 {
				e.w.stats.prunesEffective++
			}
			e.w.mu.Unlock()
		default:
			e.w.problem("kill %d: POST /api/v1/prune %v answered %s", e.n, body, r)
		}
	}
}

// repairWorker rebuilds the index now and then. Most of the time it first
// holds new backups and prunes back, so that it is not refused as busy.
func (e *epoch) repairWorker(rng *rand.Rand) {
	for ctxSleep(e.ctx, time.Duration(50+rng.IntN(400))*time.Millisecond) && !e.stopping.Load() {
		quiet := rng.IntN(4) != 0
		if quiet {
			e.gate.Lock()
		}
		var r reply
		if !e.stopping.Load() {
			done := e.track(opRepair)
			r = e.c.postJSON(e.ctx, "/api/v1/repair/index", nil)
			done(r.ok())
		}
		if quiet {
			e.gate.Unlock()
		}
		switch {
		case e.stopping.Load() && r.status == 0:
			return
		case r.err != nil:
			e.lost("repair index", r)
			return
		case r.ok():
			e.w.mu.Lock()
			e.w.stats.repairs++
			e.w.mu.Unlock()
		case r.status == http.StatusConflict && r.code() == "REPOSITORY_BUSY":
			e.w.mu.Lock()
			e.w.stats.repairsBusy++
			e.w.mu.Unlock()
		default:
			e.w.problem("kill %d: POST /api/v1/repair/index answered %s", e.n, r)
		}
	}
}
