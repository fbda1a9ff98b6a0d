package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/reuse-go/reuse/bench"
)

// Sections of the report, in the order they are measured and printed.
const (
	sectionHit    = "hit"
	sectionMixed  = "mixed"
	sectionHerd   = "herd"
	sectionOpenAI = "openai"
	sectionMisses = "misses"
	sectionMemory = "memory"
)

// A caseKey names one measurement: a benchmark function with its arguments,
// at one GOMAXPROCS value.
type caseKey struct {
	section string
	group   string // the workload, herd size or concurrency
	procs   int    // GOMAXPROCS
	name    string // the implementation or client
}

// A benchCase is one measurement to repeat.
type benchCase struct {
	caseKey
	run func(b *testing.B)
}

// goTestPattern returns the -bench pattern that runs c with go test.
func (c caseKey) goTestPattern() string {
	switch c.section {
	case sectionHit:
		return "HitPath/workload=" + c.group + "/cache=" + c.name
	case sectionMixed:
		return "Mixed/" + c.group + "/cache=" + c.name
	case sectionHerd:
		return "Herd/" + c.group + "/cache=" + c.name
	case sectionMisses:
		return "Misses/" + c.group + "/cache=" + c.name
	case sectionMemory:
		return "EntryBytes/" + c.group + "/cache=" + c.name
	default:
		return "OpenAI/" + c.group + "/client=" + c.name
	}
}

// A summary is the medians of the runs of one case.
type summary struct {
	runs     int                // runs that succeeded
	failures int                // runs that failed
	ns       float64            // median ns/op
	perRun   []float64          // ns/op of each repetition, in order; NaN where it failed
	allocs   float64            // median allocs/op
	extra    map[string]float64 // median of each reported metric
}

// config says what to measure and how.
type config struct {
	benchtime string // -test.benchtime of each measurement
	reps      int    // runs of each case; the report shows medians
	procs     []int  // GOMAXPROCS values for the hit path and mixed workload
	short     bool   // measure misses and memory at 1e3 entries, and the short traces only
	traceDir  string // where the trace files are; "" skips the trace comparison
	progress  io.Writer
}

// report is everything the Markdown and the chart show.
type report struct {
	machine   machine
	benchtime string
	reps      int
	procs     []int // GOMAXPROCS values of the hit path and mixed workload
	maxProcs  int   // GOMAXPROCS of the herd and OpenAI measurements
	impls     []bench.Impl
	workloads []string
	herdSizes []int
	clients   []bench.OpenAIClient
	results   map[caseKey]*summary

	missEntries []int             // live entries of the miss-growth tables
	entryCounts []int             // entries of the bytes-per-entry table
	traceRows   []bench.TraceRow  // rows of the trace comparison; none if not run
	traces      *bench.TraceTable // the trace comparison, or nil
	traceErr    error             // why the trace comparison could not run
}

// cases returns the measurements of a report, grouped so that the
// implementations compared with each other are next to each other.
func (r *report) cases() [][]benchCase {
	var groups [][]benchCase
	for _, w := range bench.Workloads() {
		for _, p := range r.procs {
			var g []benchCase
			for _, impl := range r.impls {
				g = append(g, benchCase{caseKey{sectionHit, w.Name, p, impl.Name},
					func(b *testing.B) { bench.HitPath(b, impl, w) }})
			}
			groups = append(groups, g)
		}
	}
	for _, p := range r.procs {
		var g []benchCase
		for _, impl := range bench.Bounded(r.impls) {
			g = append(g, benchCase{caseKey{sectionMixed, mixedGroup, p, impl.Name},
				func(b *testing.B) { bench.Mixed(b, impl) }})
		}
		groups = append(groups, g)
	}
	for _, n := range r.herdSizes {
		var g []benchCase
		for _, impl := range r.impls {
			g = append(g, benchCase{caseKey{sectionHerd, herdGroup(n), r.maxProcs, impl.Name},
				func(b *testing.B) { bench.Herd(b, impl, n) }})
		}
		groups = append(groups, g)
	}
	for _, bounded := range []bool{false, true} {
		for _, n := range r.missEntries {
			var g []benchCase
			for _, impl := range bench.MissImpls(bounded) {
				g = append(g, benchCase{caseKey{sectionMisses, missGroup(bounded, n), r.maxProcs, impl.Name},
					func(b *testing.B) { bench.Misses(b, impl, n) }})
			}
			groups = append(groups, g)
		}
		if n := r.missLargest(); n > 0 {
			var g []benchCase
			for _, impl := range bench.MissImpls(bounded) {
				g = append(g, benchCase{caseKey{sectionMisses, missGroup(bounded, n) + gcOffGroup, r.maxProcs, impl.Name},
					func(b *testing.B) { bench.MissesGCOff(b, impl, n) }})
			}
			groups = append(groups, g)
		}
	}
	for _, n := range r.entryCounts {
		var g []benchCase
		for _, impl := range bench.MemoryImpls() {
			g = append(g, benchCase{caseKey{sectionMemory, memoryGroup(n), r.maxProcs, impl.Name},
				func(b *testing.B) { bench.EntryBytes(b, impl, n) }})
		}
		groups = append(groups, g)
	}
	var g []benchCase
	for _, client := range r.clients {
		g = append(g, benchCase{caseKey{sectionOpenAI, openAIGroup, r.maxProcs, client.Name},
			func(b *testing.B) { bench.OpenAI(b, client) }})
	}
	return append(groups, g)
}

const mixedGroup = "reads=75%"

var openAIGroup = "concurrency=" + strconv.Itoa(bench.OpenAIConcurrency)

func herdGroup(n int) string { return "goroutines=" + strconv.Itoa(n) }

// missGroup names the group of Misses with n live entries, bounded or not.
func missGroup(bounded bool, n int) string {
	bound := "none"
	if bounded {
		bound = "size"
	}
	return "bound=" + bound + "/entries=" + bench.FormatCount(n)
}

// gcOffGroup ends the group of MissesGCOff, which is measured at the
// largest number of entries only.
const gcOffGroup = "/gc=off"

// missLargest returns the largest number of entries of the miss tables, or
// 0 if there are none.
func (r *report) missLargest() int {
	if len(r.missEntries) == 0 {
		return 0
	}
	return slices.Max(r.missEntries)
}

func memoryGroup(n int) string { return "entries=" + bench.FormatCount(n) }

// newReport returns the report that cfg asks for, without results.
func newReport(cfg config) *report {
	r := &report{
		machine:   readMachine(),
		benchtime: cfg.benchtime,
		reps:      cfg.reps,
		procs:     cfg.procs,
		maxProcs:  slices.Max(cfg.procs),
		impls:     bench.Impls(),
		herdSizes: bench.HerdGoroutines(),
		clients:   bench.OpenAIClients(),
		results:   map[caseKey]*summary{},

		missEntries: bench.MissEntries(),
		entryCounts: bench.EntryCounts(),
	}
	for _, w := range bench.Workloads() {
		r.workloads = append(r.workloads, w.Name)
	}
	if cfg.short {
		r.missEntries, r.entryCounts = []int{1000}, []int{1000}
	}
	if cfg.traceDir != "" {
		r.traceRows = bench.TraceRows()
		if cfg.short {
			r.traceRows = bench.ShortTraceRows()
		}
	}
	return r
}

// numCases returns the number of measurements in one repetition: the
// number of cases of r.
func (r *report) numCases() int {
	n := 0
	for _, g := range r.cases() {
		n += len(g)
	}
	return n
}

// measure runs every case cfg.reps times, interleaved: each repetition runs
// every case once, starting each group at another implementation, so that
// drift in the machine's speed spreads over all of them.
func measure(cfg config) *report {
	r := newReport(cfg)
	groups := r.cases()
	total := r.numCases() * cfg.reps

	samples := map[caseKey][]testing.BenchmarkResult{}
	failures := map[caseKey]int{}
	perRun := map[caseKey][]float64{}
	start, done := time.Now(), 0
	for rep := range cfg.reps {
		for _, g := range groups {
			for i := range g {
				c := g[(i+rep)%len(g)]
				res := runCase(c)
				done++
				if res.N == 0 {
					failures[c.caseKey]++
					perRun[c.caseKey] = append(perRun[c.caseKey], math.NaN())
				} else {
					samples[c.caseKey] = append(samples[c.caseKey], res)
					perRun[c.caseKey] = append(perRun[c.caseKey], nsPerOp(res))
				}
				progress(cfg.progress, done, total, time.Since(start), c.caseKey, res)
			}
		}
	}
	for _, g := range groups {
		for _, c := range g {
			r.results[c.caseKey] = summarize(samples[c.caseKey], failures[c.caseKey])
			r.results[c.caseKey].perRun = perRun[c.caseKey]
		}
	}
	if len(r.traceRows) > 0 {
		// Replays are deterministic: one run is enough.
		t0 := time.Now()
		r.traces, r.traceErr = bench.CompareTraces(cfg.traceDir, r.traceRows, bench.TracePolicies())
		if cfg.progress != nil {
			fmt.Fprintf(cfg.progress, "trace comparison: %d rows in %s\n", len(r.traceRows), time.Since(t0).Round(time.Second))
		}
	}
	return r
}

// runCase measures c once at its GOMAXPROCS. A failed benchmark gives N = 0.
func runCase(c benchCase) testing.BenchmarkResult {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
	return testing.Benchmark(c.run)
}

func progress(w io.Writer, done, total int, elapsed time.Duration, c caseKey, res testing.BenchmarkResult) {
	if w == nil {
		return
	}
	outcome := "FAILED"
	if res.N > 0 {
		outcome = formatNs(float64(res.T.Nanoseconds())/float64(res.N)) + "/op"
		for _, unit := range sortedKeys(res.Extra) {
			outcome += fmt.Sprintf(", %s %s", formatFloat(res.Extra[unit]), unit)
		}
	}
	left := ""
	if done < total {
		left = fmt.Sprintf(", about %s left", (elapsed / time.Duration(done) * time.Duration(total-done)).Round(time.Second))
	}
	fmt.Fprintf(w, "[%d/%d%s] %s GOMAXPROCS=%d: %s\n", done, total, left, c.goTestPattern(), c.procs, outcome)
}

// summarize returns the medians of results.
func summarize(results []testing.BenchmarkResult, failures int) *summary {
	s := &summary{runs: len(results), failures: failures, extra: map[string]float64{}}
	if len(results) == 0 {
		return s
	}
	var ns, allocs []float64
	extra := map[string][]float64{}
	for _, res := range results {
		ns = append(ns, nsPerOp(res))
		allocs = append(allocs, float64(res.AllocsPerOp()))
		for unit, v := range res.Extra {
			extra[unit] = append(extra[unit], v)
		}
	}
	s.ns, s.allocs = median(ns), median(allocs)
	for unit, vs := range extra {
		s.extra[unit] = median(vs)
	}
	return s
}

// nsPerOp returns the ns/op of one run.
func nsPerOp(res testing.BenchmarkResult) float64 {
	return float64(res.T.Nanoseconds()) / float64(res.N)
}

// pairedRatio returns the median, over the repetitions in which both s and
// base ran, of s's ns/op divided by base's in that repetition: measured
// minutes apart at most, rather than across the whole report, so that the
// machine's drift between repetitions cancels out. ok is false when no
// repetition has both.
func pairedRatio(s, base *summary) (r float64, ok bool) {
	if s == nil || base == nil {
		return 0, false
	}
	var rs []float64
	for i := range min(len(s.perRun), len(base.perRun)) {
		v, b := s.perRun[i], base.perRun[i]
		if !math.IsNaN(v) && !math.IsNaN(b) && b > 0 {
			rs = append(rs, v/b)
		}
	}
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs), true
}

// pairedLabel returns " (0.84x)": pairedRatio of s to base, or "" when
// there is none. The hit path's table and chart label ns/op with it.
func pairedLabel(s, base *summary) string {
	if q, paired := pairedRatio(s, base); paired {
		return fmt.Sprintf(" (%.2fx)", q)
	}
	return ""
}

// median returns the median of vs, which must not be empty; vs is sorted.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
