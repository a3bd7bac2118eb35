package torture

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

func envInt(t *testing.T, name string, def uint64) uint64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

// run is one torture run: the server, the model and the reporting.
type run struct {
	t        *testing.T
	seed     uint64
	kills    int
	name     string // the -run pattern that replays it
	dir      string
	srv      *server
	w        *world
	pool     *pool
	tm       *timing
	token    string
	keepOn   bool            // SHADOWVAULT_TORTURE_KEEP_GOING: report and go on
	ops      map[string]bool // the workers that run (SHADOWVAULT_TORTURE_OPS)
	reported map[string]bool // violations already reported (keep-going mode)
	failed   []string        // invariants broken, first first
	start    time.Time       // of the first kill's workload
}

func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("torture test: kills a real server many times; skipped with -short")
	}
	kills := int(envInt(t, "SHADOWVAULT_TORTURE_KILLS", 50))
	torture(t, kills, "TestTorture$", 0, func(dir string) *server {
		return &server{repoDir: filepath.Join(dir, "repo")}
	})
}

// torture runs the workload on the server newServer describes (its
// repository and flags; binary, log and pack size are set here), killing
// it kills times. name is the -run pattern that replays the run.
func torture(t *testing.T, kills int, name string, lock time.Duration, newServer func(dir string) *server) {
	seed := envInt(t, "SHADOWVAULT_TORTURE_SEED", rand.Uint64()>>1)
	t.Logf("seed %d, %d kills; replay with SHADOWVAULT_TORTURE_SEED=%d SHADOWVAULT_TORTURE_KILLS=%d go test -count=1 -v -run '%s' ./internal/torture/",
		seed, kills, seed, kills, name)
	dir, err := os.MkdirTemp("", "shadowvault-torture-")
	if err != nil {
		t.Fatal(err)
	}
	ru := &run{t: t, seed: seed, kills: kills, name: name, dir: dir, start: time.Now(), w: newWorld(), pool: newPool(seed), tm: &timing{},
		keepOn: os.Getenv("SHADOWVAULT_TORTURE_KEEP_GOING") != "", reported: map[string]bool{}, ops: map[string]bool{}}
	ops := os.Getenv("SHADOWVAULT_TORTURE_OPS")
	if ops == "" {
		ops = "backup,forget,prune,repair"
	}
	for _, op := range strings.Split(ops, ",") {
		switch op = strings.TrimSpace(op); op {
		case "backup", "forget", "prune", "repair":
			ru.ops[op] = true
		default:
			t.Fatalf("SHADOWVAULT_TORTURE_OPS=%q: %q is not one of backup, forget, prune, repair", ops, op)
		}
	}
	if ops != "backup,forget,prune,repair" {
		t.Logf("workers: %s only", ops)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("repository, index and server log kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	})
	bin, err := buildBinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	ru.w.lock = lock
	ru.srv = newServer(dir)
	ru.srv.bin, ru.srv.logPath, ru.srv.packSize = bin, filepath.Join(dir, "server.log"), packSize
	t.Cleanup(ru.srv.kill)
	ru.startServer(0)
	if ru.token, err = ru.srv.adminToken(); err != nil {
		ru.fatal(0, "reading the admin token: %v", err)
	}
	c := newClient(ru.srv.url(), ru.token)
	r := c.get(context.Background(), "/api/v1/receipt-key")
	var k struct {
		Key string `json:"receipt_key"`
	}
	if !r.ok() || json.Unmarshal(r.body, &k) != nil {
		ru.fatal(0, "GET /api/v1/receipt-key answered %s", r)
	}
	if ru.w.pub, err = hex.DecodeString(k.Key); err != nil || len(ru.w.pub) != 32 {
		ru.fatal(0, "receipt key %q is not 32 hex-encoded bytes", k.Key)
	}
	c.close()

	ru.start = time.Now()
	krng := rand.New(rand.NewPCG(seed, 1))
	for n := 1; n <= kills; n++ {
		ru.epoch(n, krng)
		ru.startServer(n)
		ru.verify(n)
	}
	// The end: a clean shutdown, one last start, and everything checked.
	if !ru.srv.stop(40 * time.Second) {
		ru.report(kills, []string{"invariant 0 (sane answers during the workload): the server did not shut down cleanly on SIGTERM within 40s"})
	}
	ru.startServer(kills)
	ru.verify(kills)
	if len(ru.failed) > 0 { // keep-going mode
		ru.fatal(kills, "seed %d: broken invariants, first first:\n%s", seed, strings.Join(ru.failed, "\n"))
	}
	ru.summary(time.Since(ru.start))
	ru.enoughHappened()
}

// packSize is the pack target of the test repository, the smallest the
// repository accepts (repo.MinPackSize): a pack closes once it reaches the
// target, so most chunks get a pack of their own, chunks that compress to
// a few bytes share one, and prune has many packs to delete and rewrite.
const packSize = repo.MinPackSize

func (ru *run) startServer(n int) {
	if err := ru.srv.start(); err != nil {
		ru.fatal(n, "restart after kill %d: %v", n, err)
	}
}

// epoch runs the workload and kills the server in the middle of it.
func (ru *run) epoch(n int, krng *rand.Rand) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &epoch{n: n, ctx: ctx, c: newClient(ru.srv.url(), ru.token), w: ru.w, pool: ru.pool, tm: ru.tm}
	defer e.c.close()
	e.runs = [nOps]bool{ru.ops["backup"], ru.ops["backup"], ru.ops["forget"], ru.ops["prune"], ru.ops["repair"]}
	var wg sync.WaitGroup
	workers := []struct {
		op string
		f  func(*rand.Rand)
	}{{"backup", e.backupWorker}, {"backup", e.backupWorker}, {"backup", e.backupWorker},
		{"forget", e.forgetWorker}, {"prune", e.pruneWorker}, {"repair", e.repairWorker}}
	for i, wk := range workers {
		rng := rand.New(rand.NewPCG(ru.seed, uint64(n)<<8|uint64(i)+2))
		if ru.ops[wk.op] {
			wg.Go(func() { wk.f(rng) })
		}
	}
	during, died := e.killAt(krng, ru.srv)
	cancel()
	wg.Wait()
	w := ru.w
	w.mu.Lock()
	w.stats.kills++
	for _, op := range during {
		w.stats.killsDuring[op]++
	}
	for _, s := range w.sessions {
		switch s.state {
		case sessOpen:
			s.state = sessAbandoned
		case sessCompleting:
			s.state = sessUncertain
		}
	}
	w.mu.Unlock()
	if died {
		ru.report(n, []string{"invariant 0 (sane answers during the workload): the server process exited by itself before the kill"})
	}
	ru.t.Logf("kill %d: during %v", n, during)
}

// killAt waits 20-400 ms, then aims at an operation: it waits for one to
// be in flight and lets it run for a random part of its usual duration,
// then SIGKILLs the server. It returns what was in flight at the kill.
func (e *epoch) killAt(rng *rand.Rand, srv *server) (during []string, died bool) {
	time.Sleep(time.Duration(20+rng.IntN(381)) * time.Millisecond)
	targets := []opKind{opComplete, opComplete, opComplete, opPrune, opPrune, opPrune, opRepair, opRepair, opRepair, opForget, opUpload, -1}
	if op := targets[rng.IntN(len(targets))]; op >= 0 && e.runs[op] {
		for deadline := time.Now().Add(4 * time.Second); e.inflight[op].Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		avg := e.tm.get(op)
		if avg <= 0 {
			avg = 20 * time.Millisecond
		}
		time.Sleep(time.Duration(rng.Int64N(int64(avg) + 1)))
	}
	e.stopping.Store(true)
	for op := range nOps {
		if e.inflight[op].Load() > 0 {
			during = append(during, opNames[op])
		}
	}
	died = !srv.alive()
	srv.kill()
	return during, died
}

func (ru *run) verify(n int) {
	c := newClient(ru.srv.url(), ru.token)
	defer c.close()
	v := &verifier{ctx: context.Background(), c: c, w: ru.w, pool: ru.pool,
		rng: rand.New(rand.NewPCG(ru.seed, uint64(n)<<8|0xff))}
	if viol := v.verify(); len(viol) > 0 {
		ru.report(n, viol)
	}
}

// report fails the test on the first broken invariant, naming the seed and
// the kill; with SHADOWVAULT_TORTURE_KEEP_GOING it notes new ones and goes on.
func (ru *run) report(n int, viol []string) {
	var fresh []string
	for _, v := range viol {
		if !ru.reported[v] {
			ru.reported[v] = true
			fresh = append(fresh, v)
		}
	}
	if len(fresh) == 0 {
		return
	}
	for _, v := range fresh {
		inv := v[:strings.Index(v, ")")+1]
		if !ru.reported[inv] {
			ru.reported[inv] = true
			ru.failed = append(ru.failed, fmt.Sprintf("%s first broken after kill %d", inv, n))
		}
	}
	msg := fmt.Sprintf("seed %d, after kill %d of %d: FIRST BROKEN: %s", ru.seed, n, ru.kills, fresh[0])
	if len(fresh) > 1 {
		msg += fmt.Sprintf("\nand %d more:\n  %s", len(fresh)-1, strings.Join(fresh[1:], "\n  "))
	}
	if ru.keepOn {
		ru.t.Errorf("%s", msg)
		return
	}
	ru.fatal(n, "%s", msg)
}

func (ru *run) fatal(n int, format string, args ...any) {
	ru.t.Helper()
	ru.summary(time.Since(ru.start))
	ru.t.Fatalf("%s\nreplay: SHADOWVAULT_TORTURE_SEED=%d SHADOWVAULT_TORTURE_KILLS=%d go test -count=1 -v -run '%s' ./internal/torture/ (timing differs between runs)\nserver log %s, last 100 lines:\n%s",
		fmt.Sprintf(format, args...), ru.seed, max(n, 1), ru.name, ru.srv.logPath, tail(ru.srv.logPath, 100))
}

func (ru *run) summary(took time.Duration) {
	w := ru.w
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stats
	states := map[string]int{}
	for _, s := range w.sessions {
		states[s.state.String()]++
	}
	ru.t.Logf("torture seed %d: %d kills in %v (server started %d times); kills during %v",
		ru.seed, st.kills, took.Round(time.Second), ru.srv.starts, st.killsDuring)
	ru.t.Logf("  sessions %d %v, uploads %d (%d incremental), receipts %d (%d after a kill), aborts %d",
		st.sessions, states, st.uploads, st.incrementals, st.receipts, st.receiptsAfterKill, st.aborts)
	ru.t.Logf("  forgets %d calls, %d policy, %d snapshots forgotten; prunes %d (%d that deleted or rewrote packs: %d deleted, %d rewritten); repairs %d (+%d busy)",
		st.forgetCalls, st.policyForgets, st.forgotten, st.prunes, st.prunesEffective, st.packsDeleted, st.packsRewritten, st.repairs, st.repairsBusy)
	ru.t.Logf("  checks %d, restores compared %d (%d MiB), completes retried %d, snapshots listed %d at the end (at most %d)",
		st.checks, st.restoresChecked, st.restoreBytes>>20, st.completeRetries, st.snapshotsListedEnd, st.snapshotsListedMax)
}

// enoughHappened makes sure the run was not trivially green: enough
// receipts, forgets, effective prunes and repairs, and kills that landed
// inside completes, prunes, repairs and uploads. Short runs (fewer than 20
// kills, for debugging) only print the counts.
func (ru *run) enoughHappened() {
	st := ru.w.stats
	if st.kills < 20 {
		return
	}
	need := []struct {
		op, what  string
		got, want int
	}{
		{"backup", "receipts", st.receipts, st.kills},
		{"backup", "incremental uploads", st.incrementals, st.kills / 5},
		{"forget", "snapshots forgotten", st.forgotten, st.kills / 5},
		{"prune", "prunes that deleted or rewrote packs", st.prunesEffective, st.kills / 10},
		{"repair", "index repairs", st.repairs, st.kills / 25},
		{"backup", "kills during a complete", st.killsDuring["complete"], st.kills / 20},
		{"prune", "kills during a prune", st.killsDuring["prune"], st.kills / 20},
		{"repair", "kills during an index repair", st.killsDuring["repair"], st.kills / 20},
		{"backup", "kills during an upload", st.killsDuring["upload"], 1},
	}
	for _, n := range need {
		if ru.ops[n.op] && n.got < n.want {
			ru.t.Errorf("seed %d: only %d %s in %d kills, want at least %d: the run did not exercise enough", ru.seed, n.got, n.what, st.kills, n.want)
		}
	}
}
