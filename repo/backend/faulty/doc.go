// Package faulty wraps a backend.Backend and injects faults, for tests of
// the code above a backend: retries, error paths, durability order.
//
// A Backend counts the calls of each operation (Op) and, per operation,
// can fail a window of calls (the Nth, or every one from the Nth on) with a
// chosen error before or after the inner call, cut ReadAt short, add
// latency, or hold calls until the test releases them. Faults are set and
// cleared while calls run; everything is safe for concurrent use.
package faulty
