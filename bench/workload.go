package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// KeyLen is the length in bytes of every key the benchmarks use.
const KeyLen = 40

// Trace parameters. Every implementation reads the same pre-generated trace,
// so every implementation sees identical keys in identical order.
const (
	TraceLen = 1 << 16 // draws in each trace; a power of two
	ZipfS    = 1.01    // Zipf exponent s (math/rand/v2.NewZipf, v = 1)
	Seed     = 1       // seed of the PCG source behind every trace
)

// Key returns the i-th key: 40 bytes shaped like a client configuration, for
// 0 <= i < 10,000,000.
func Key(i int) string {
	return fmt.Sprintf("tenant-%07d/model=gpt-4o-mini/eu-west", i)
}

// Workload is a fixed set of keys and a fixed trace of reads over them.
type Workload struct {
	Name  string   // short name used in benchmark paths, such as "zipf8192"
	Keys  []string // the distinct keys, each KeyLen bytes
	Trace []string // TraceLen reads, each one of Keys
}

// Workloads returns the hit-path workloads: 16 hot keys read uniformly at
// random ("hot16"), and 8192 keys read under a Zipf distribution with
// exponent ZipfS ("zipf8192"). They are built once and shared.
func Workloads() []Workload {
	workloadsOnce.Do(func() {
		workloads = []Workload{
			newWorkload("hot16", 16, uniform),
			newWorkload("zipf8192", 8192, zipf),
		}
	})
	return workloads
}

var (
	workloadsOnce sync.Once
	workloads     []Workload // set once by workloadsOnce
)

// A distribution returns a function drawing indexes in [0, n) from r.
type distribution func(r *rand.Rand, n int) func() int

func uniform(r *rand.Rand, n int) func() int {
	return func() int { return r.IntN(n) }
}

func zipf(r *rand.Rand, n int) func() int {
	z := rand.NewZipf(r, ZipfS, 1, uint64(n-1))
	return func() int { return int(z.Uint64()) }
}

// newWorkload builds a workload of n keys, Key(0) to Key(n-1), whose trace
// draws key indexes from dist.
func newWorkload(name string, n int, dist distribution) Workload {
	w := Workload{Name: name, Keys: make([]string, n), Trace: make([]string, TraceLen)}
	for i := range w.Keys {
		w.Keys[i] = Key(i)
	}
	next := dist(rand.New(rand.NewPCG(Seed, uint64(n))), n)
	for i := range w.Trace {
		w.Trace[i] = w.Keys[next()]
	}
	return w
}

// traceStart returns where the g-th goroutine of a parallel benchmark
// starts reading a trace, so that goroutines do not read in lockstep.
func traceStart(g uint32) int {
	// Odd, so coprime with TraceLen: distinct goroutines start at distinct places.
	const stride = TraceLen/16 + 7
	return int(g) * stride % TraceLen
}
