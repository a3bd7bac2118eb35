package faulty

import (
	"fmt"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Op names one operation of backend.Backend.
type Op int

// The operations, as counted and faulted.
const (
	OpPut Op = 1 + iota
	OpReadAt
	OpStat
	OpList
	OpRemove
	numOps
)

func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpReadAt:
		return "readat"
	case OpStat:
		return "stat"
	case OpList:
		return "list"
	case OpRemove:
		return "remove"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Fault describes which calls of an operation fail, and how.
type Fault struct {
	From  int   // first affected call, counting from 1
	Count int   // affected calls from From on; 0 means all of them
	Err   error // what affected calls return
	// Type, if set, limits the fault to calls on objects of that type
	// (the calls are counted all the same).
	Type backend.Type
	// After runs the call on the inner backend first and returns Err
	// anyway: a Put that stored the object but reported failure.
	After bool
	// Short makes an affected ReadAt read only the first half of p and
	// return Err with it; a nil Err then models a backend that returns
	// short reads without an error.
	Short bool
}

func (f Fault) covers(call int) bool {
	return call >= f.From && (f.Count == 0 || call < f.From+f.Count)
}

// Backend is a backend.Backend with injected faults.
type Backend struct {
	backend.Backend

	mu      sync.Mutex            // guards the fields below
	calls   [numOps]int           // calls started, per Op
	faults  [numOps][]Fault       // per Op
	latency time.Duration         // added before every call
	gates   [numOps]chan struct{} // non-nil: calls wait until it is closed
}

var _ backend.Backend = (*Backend)(nil)

// New wraps b. Without faults the wrapper only counts calls.
func New(b backend.Backend) *Backend { return &Backend{Backend: b} }

// Inject adds a fault to op.
func (f *Backend) Inject(op Op, ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], ft)
}

// FailPut makes the nth Put fail with err, before it reaches the inner
// backend.
func (f *Backend) FailPut(n int, err error) { f.Inject(OpPut, Fault{From: n, Count: 1, Err: err}) }

// FailPutsFrom makes every Put from the nth on fail with err.
func (f *Backend) FailPutsFrom(n int, err error) { f.Inject(OpPut, Fault{From: n, Err: err}) }

// FailReadAt makes count ReadAt calls from the nth on fail with err
// (count 0: all of them).
func (f *Backend) FailReadAt(n, count int, err error) {
	f.Inject(OpReadAt, Fault{From: n, Count: count, Err: err})
}

// ShortReads makes count ReadAt calls from the nth on (count 0: all) read
// half of what they were asked for and return err (which may be nil).
func (f *Backend) ShortReads(n, count int, err error) {
	f.Inject(OpReadAt, Fault{From: n, Count: count, Err: err, Short: true})
}

// SetLatency delays every later call by d (0 removes the delay). The delay
// honours the call's context.
func (f *Backend) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// Block holds every later call of op, before it does anything, until
// release is called or the call's context ends. release may be called more
// than once.
func (f *Backend) Block(op Op) (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.gates[op] = gate
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			if f.gates[op] == gate {
				f.gates[op] = nil
			}
			f.mu.Unlock()
			close(gate)
		})
	}
}

// Heal removes every fault and the latency. Blocked calls stay blocked
// until released.
func (f *Backend) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = [numOps][]Fault{}
	f.latency = 0
}

// Calls returns how many calls of op have started.
func (f *Backend) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Unwrap returns the backend f wraps.
func (f *Backend) Unwrap() backend.Backend { return f.Backend }
