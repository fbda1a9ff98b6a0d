package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reuse-go/reuse/bench"
	"github.com/reuse-go/reuse/internal/leaktest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// TestReport runs the whole program with one quick run per measurement and
// checks what it prints and draws.
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark once")
	}
	old := flag.Lookup("test.benchtime").Value.String()
	t.Cleanup(func() { _ = flag.Set("test.benchtime", old) })

	svgPath := filepath.Join(t.TempDir(), "hit.svg")
	var stdout, stderr bytes.Buffer
	const reps = 1
	if err := runReport([]string{"-benchtime", "1x", "-reps", strconv.Itoa(reps), "-cpu", "1,2", "-svg", svgPath, "-short"}, &stdout, &stderr); err != nil {
		t.Fatalf("benchreport: %v\nstderr:\n%s", err, stderr.String())
	}
	md := stdout.String()
	for _, want := range []string{
		"### Machine", "| Go | " + runtime.Version(), "| GOMAXPROCS | 1, 2 (hit path, mixed); 2 (thundering herd, misses, memory, OpenAI) |",
		"-short`", "### Misses as the cache grows", "Unbounded:", "Bounded at N:", "| cache | N = 1e3 |",
		"Slowest single miss at N = 1e3 with the garbage collector off",
		"### Bytes per entry", "### Hit ratios on traces", "| gli | 500 |", "| **mean** | |",
		"### Hit path", "A hit under keyedcache's TinyLFU policy costs", "| cache | hot16, GOMAXPROCS=1 | hot16, GOMAXPROCS=2 | zipf8192, GOMAXPROCS=1 | zipf8192, GOMAXPROCS=2 |",
		"### Churn: mixed reads and loads", "| cache | GOMAXPROCS | ns/op | / golang-lru/v2 | / otter v2 | allocs/op |",
		"### Thundering herd", "| cache | N = 8 | N = 32 |",
		"| keyedcache | 1 | 1 |", "| keyedcache (bounded) | 1 | 1 |",
		"### OpenAI clients", "| new SDK client per call |", "| reuse Clients |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "failed") {
		t.Errorf("a measurement failed:\n%s", md)
	}
	// Each implementation has a row in both hit-path tables, and sync.Map's
	// figures are the 1.00x baseline.
	for _, impl := range bench.Impls() {
		if n := strings.Count(md, "\n| "+impl.Label+" | "); n < 3 {
			t.Errorf("%q has %d table rows, want at least 3", impl.Label, n)
		}
	}
	if n := strings.Count(md, "(1.00x)"); n < 4 {
		t.Errorf("report has %d (1.00x) figures, want at least the 4 ns/op of sync.Map", n)
	}
	// The churn table's peers are each 1.00x themselves, within each run.
	for _, prefix := range []string{"| golang-lru/v2 | 1 | ", "| otter v2 | 2 | "} {
		i := strings.Index(md, prefix)
		if i < 0 {
			t.Errorf("report lacks the churn row %q", prefix)
			continue
		}
		if line, _, _ := strings.Cut(md[i:], "\n"); !strings.Contains(line, " 1.00x |") {
			t.Errorf("churn row %q has no 1.00x ratio to itself", line)
		}
	}
	// One progress line per measurement: every case of the report, in
	// every repetition.
	want := reps * newReport(config{reps: reps, procs: []int{1, 2}, short: true}).numCases()
	if n := strings.Count(stderr.String(), "GOMAXPROCS="); n != want {
		t.Errorf("stderr has %d progress lines, want %d:\n%s", n, want, stderr.String())
	}
	if last := fmt.Sprintf("[%d/%d] ", want, want); !strings.Contains(stderr.String(), last) {
		t.Errorf("stderr lacks the last progress line, %q", last)
	}

	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg, 4*len(bench.Impls()))
}

// checkSVG checks that svg is well-formed XML, a self-contained <svg> with
// a viewBox, and has bars bars.
func checkSVG(t *testing.T, svg []byte, bars int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	rects, titled := 0, 0
	var stack []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if el.Name.Local != "svg" || el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root element is %v, want svg", el.Name)
				}
				if attr(el, "viewBox") == "" || attr(el, "font-family") != "sans-serif" {
					t.Errorf("svg element lacks viewBox or font-family: %v", el.Attr)
				}
			}
			switch el.Name.Local {
			case "rect":
				rects++
			case "title":
				if len(stack) > 0 && stack[len(stack)-1] == "rect" {
					titled++
				}
			case "script", "image", "style", "foreignObject", "use":
				t.Errorf("SVG has a <%s> element: it must be self-contained", el.Name.Local)
			}
			for _, a := range el.Attr {
				if a.Name.Local == "href" {
					t.Errorf("SVG links to %q: it must be self-contained", a.Value)
				}
			}
			stack = append(stack, el.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if titled != bars {
		t.Errorf("SVG has %d bars, want %d", titled, bars)
	}
	if rects < bars+1 {
		t.Errorf("SVG has %d rects, want a background and %d bars at least", rects, bars)
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// fakeReport returns a report with made-up results: every hit-path figure
// of an implementation is (index+1) times sync.Map's, ristretto missed, and
// the herd's otter measurement failed.
func fakeReport() *report {
	r := &report{
		machine:   machine{cpu: "Test CPU | 9000", cores: 4, goVer: "go1.99", goos: "linux", goarch: "amd64", started: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)},
		benchtime: "200ms",
		reps:      5,
		procs:     []int{1, 4},
		maxProcs:  4,
		impls:     bench.Impls(),
		workloads: []string{"hot16", "zipf8192"},
		herdSizes: []int{8, 32},
		clients:   bench.OpenAIClients(),
		results:   map[caseKey]*summary{},

		missEntries: []int{1000, 1000000},
		entryCounts: []int{1000},
		traceRows:   []bench.TraceRow{{Trace: "gli", Size: 500}, {Trace: "oltp", Size: 1000}},
	}
	policies := append(bench.TracePolicies()[:3:3], bench.Impl{Name: "seeded", Label: "seeded policy", Bounded: true, Seeded: true})
	r.traces = &bench.TraceTable{
		Policies: policies,
		Rows:     r.traceRows,
		Ratios:   [][]float64{{0.5, math.NaN(), 0.25, 0.2}, {0.3283, math.NaN(), 0.3, 0.32}},
		Seeds: [][][]float64{
			{nil, nil, nil, {0.19, 0.195, 0.2, 0.2, 0.21}},
			{nil, nil, nil, {0.30, 0.31, 0.32, 0.33, 0.34}},
		},
		Means:  []float64{0.41415, math.NaN(), 0.275, 0.26},
		Errors: []error{nil, errors.New("not | built"), nil, nil},
	}
	for _, group := range r.cases() {
		for _, c := range group {
			s := &summary{runs: 5, extra: map[string]float64{}}
			switch c.section {
			case sectionHit:
				for i, impl := range r.impls {
					if impl.Name == c.name {
						s.ns = 20 * float64(i+1)
					}
				}
				s.perRun = []float64{s.ns, s.ns, s.ns, s.ns, s.ns}
				s.extra["hit-ratio"] = 1
				if c.name == "ristretto" {
					s.extra["hit-ratio"] = 0.995
				}
			case sectionMixed:
				// Runs that differ, so that a ratio within each run
				// (golang-lru/v2's, keyedcache's) differs from the ratio of
				// the medians, and one failed run of otter.
				s.perRun = []float64{150, 150, 150, 150, 150}
				switch c.name {
				case "lru":
					s.perRun = []float64{100, 200, 100, 200, 100}
				case "otter":
					s.perRun = []float64{150, 300, 150, 300, math.NaN()}
					s.runs, s.failures = 4, 1
				case "keyedcache-bounded":
					s.perRun = []float64{130, 220, 110, 240, 120}
				}
				s.ns = medianOf(s.perRun)
				s.allocs, s.extra["hit-ratio"], s.extra["allocs/miss"] = 1, 0.7, 1.25
			case sectionHerd:
				s.ns, s.extra["loads/op"] = 1e7, 8
				if c.name == "otter" {
					s.runs, s.failures = 0, 5
				}
			case sectionOpenAI:
				s.ns, s.allocs, s.extra["conns/op"] = 250e3, 320, 0.0234
			case sectionMisses:
				s.ns, s.extra["max-ns/miss"] = 812, 1.5e6
				if strings.HasSuffix(c.group, gcOffGroup) {
					s.extra["max-ns/miss"] = 2.5e5
				}
			case sectionMemory:
				s.extra["B/entry"] = 96.4
			}
			r.results[c.caseKey] = s
		}
	}
	return r
}

func TestMarkdown(t *testing.T) {
	r := fakeReport()
	var b bytes.Buffer
	if err := writeMarkdown(&b, r, "go run ./bench/cmd/benchreport"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"median of 5 runs of 200ms each",
		`| CPU | Test CPU \| 9000 |`,
		"| Date | 2025-01-02 03:04 UTC |",
		"| sync.Map | 20.0 ns (1.00x) | 20.0 ns (1.00x) | 20.0 ns (1.00x) | 20.0 ns (1.00x) |",
		"| golang-lru/v2 | 40.0 ns (2.00x) |",
		"| keyedcache (bounded) | 120 ns (6.00x) |",
		"A hit under keyedcache's TinyLFU policy costs, as a ratio to its cost under LRU (keyedcache (bounded)) " +
			"within each run: 1.17x on hot16 at GOMAXPROCS=1, 1.17x on hot16 at GOMAXPROCS=4, " +
			"1.17x on zipf8192 at GOMAXPROCS=1, 1.17x on zipf8192 at GOMAXPROCS=4.",
		"| sync.Map | 0 | 0 | 0 | 0 |",
		"Hit ratio where reads missed (median): ristretto v2 on hot16 at GOMAXPROCS=1: 99.50%",
		"| cache | GOMAXPROCS | ns/op | / golang-lru/v2 | / otter v2 | allocs/op | allocs/miss | hit ratio |",
		"| golang-lru/v2 | 1 | 100 ns | 1.00x | 0.67x | 1 | 1.250 | 70.00% |",
		"| otter v2 | 4 | 225 ns | 1.50x | 1.00x | 1 | 1.250 | 70.00% |",
		// 1.20x and 0.77x within each run, where the medians give 1.30x and 0.58x.
		"| keyedcache (bounded) | 1 | 130 ns | 1.20x | 0.77x | 1 | 1.250 | 70.00% |",
		"| otter v2 | failed | failed |",
		"| sync.Map | 8 | 8 |",
		"| reuse Clients | 250 µs | 320 | 0.0234 |",
		"| keyedcache (bounded) | 812 ns (max 1.50 ms) | 812 ns (max 1.50 ms) |",
		"| cache | N = 1e3 | N = 1e6 |",
		"Slowest single miss at N = 1e6 with the garbage collector off while the misses are timed " +
			"(on while the cache is filled): the cache's own work, without the collector's pauses and scheduling: " +
			"golang-lru/v2 250 µs, otter v2 250 µs, keyedcache (bounded) 250 µs.",
		"| otter v2 | 96 B |",
		"| trace | size | keyedcache LRU | keyedcache TinyLFU | golang-lru LRU |",
		"| gli | 500 | 50.00 | error | 25.00 |",
		"| oltp | 1000 | 32.83 | error | 30.00 |",
		"| **mean** | | **41.41** | **error** | **27.50** |",
		`keyedcache TinyLFU did not run: not \| built.`,
		"seeded policy draws a hash seed for each cache, and its hit ratios move with it: each of its figures " +
			"is the median of 5 caches. The widest spread was on oltp at 1000: 30.00 to 34.00.",
		"### Failures",
		"`Herd/goroutines=32/cache=otter` at GOMAXPROCS=4 failed in 5 of 5 runs",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
	if strings.Contains(md, "Every read hit") {
		t.Errorf("report says every read hit, but ristretto missed")
	}
	if got := r.allFailed(); got != 2 {
		t.Errorf("allFailed() = %d, want 2", got)
	}
}

func TestSVG(t *testing.T) {
	r := fakeReport()
	r.machine.cpu = `<CPU & "friends">`
	var b bytes.Buffer
	if err := writeSVG(&b, r); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, b.Bytes(), 4*len(r.impls))
	// The longest bar is keyedcache (bounded) at 120 ns, on an axis to 120.
	if !strings.Contains(b.String(), `width="580.0"`) {
		t.Errorf("longest bar does not span the plot (%d units)", svgPlotEnd-svgPlotLeft)
	}
	// Labels give the ratio to sync.Map within each run, as the table does.
	if !strings.Contains(b.String(), ">40.0 ns (2.00x)<") {
		t.Errorf("golang-lru's bar lacks the label 40.0 ns (2.00x)")
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{formatNs(23.14), "23.1 ns"},
		{formatNs(7.256), "7.26 ns"},
		{formatNs(325.2), "325 ns"},
		{formatNs(2232), "2.23 µs"},
		{formatNs(297343), "297 µs"},
		{formatNs(10.4e6), "10.4 ms"},
		{formatNs(47), "47.0 ns"},
		{formatNs(1.5e9), "1.50 s"},
		{formatFloat(0), "0"},
		{formatFloat(32), "32"},
		{formatFloat(0.02314), "0.0231"},
		{formatFloat(0.000032), "0.000032"},
		{formatFloat(1.5), "1.5"},
		{formatFloat(2201), "2201"},
		{formatPercent(1), "100%"},
		{formatPercent(0.69666), "69.67%"},
		{ratio(23.1, &summary{runs: 1, ns: 27.5}, func(s *summary) float64 { return s.ns }), " (0.84x)"},
		{ratio(2, &summary{runs: 1}, func(s *summary) float64 { return s.allocs }), " (sync.Map: 0)"},
		{ratio(0, &summary{runs: 1}, func(s *summary) float64 { return s.allocs }), ""},
		{ratio(5, &summary{failures: 1}, func(s *summary) float64 { return s.ns }), ""},
		{plural(1, "run"), "1 run"},
		{plural(3, "run"), "3 runs"},
		{escape("a|b"), `a\|b`},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct{ max, step, top float64 }{
		{152, 20, 160},
		{120, 20, 120},
		{38.4, 5, 40},
		{2232, 500, 2500},
		{0, 1, 5},
	} {
		step, top := ticks(tc.max)
		if step != tc.step || top != tc.top {
			t.Errorf("ticks(%v) = %v, %v; want %v, %v", tc.max, step, top, tc.step, tc.top)
		}
	}
}

// medianOf returns the median of the numbers of vs that are not NaN.
func medianOf(vs []float64) float64 {
	var ok []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			ok = append(ok, v)
		}
	}
	return median(ok)
}

func TestPairedRatio(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		s, base []float64
		want    float64
		ok      bool
	}{
		{[]float64{130, 220, 110, 240, 120}, []float64{100, 200, 100, 200, 100}, 1.2, true},
		{[]float64{10, nan, 30}, []float64{nan, 10, 10}, 3, true}, // only the third run has both
		{[]float64{10, 20}, []float64{5, 10, 99}, 2, true},        // runs beyond the shorter are unpaired
		{[]float64{10, nan}, []float64{nan, 10}, 0, false},
		{nil, []float64{10}, 0, false},
	} {
		got, ok := pairedRatio(&summary{perRun: tc.s}, &summary{perRun: tc.base})
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("pairedRatio(%v, %v) = %v, %v; want %v, %v", tc.s, tc.base, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := pairedRatio(nil, &summary{perRun: []float64{1}}); ok {
		t.Errorf("pairedRatio(nil, ...) reports a ratio")
	}
}

func TestSummarize(t *testing.T) {
	res := func(n int, d time.Duration, allocs uint64, hr float64) testing.BenchmarkResult {
		return testing.BenchmarkResult{N: n, T: d, MemAllocs: allocs * uint64(n), Extra: map[string]float64{"hit-ratio": hr}}
	}
	s := summarize([]testing.BenchmarkResult{
		res(100, 5*time.Microsecond, 1, 1),
		res(100, 3*time.Microsecond, 3, 0.5),
		res(200, 20*time.Microsecond, 2, 0.9),
	}, 1)
	if s.runs != 3 || s.failures != 1 || s.ns != 50 || s.allocs != 2 || s.extra["hit-ratio"] != 0.9 {
		t.Errorf("summarize = %+v, want 3 runs, 1 failure, 50 ns, 2 allocs, hit-ratio 0.9", s)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", got)
	}
}

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"-benchtime", "1s", "-cpu", "2, 1,2", "-reps", "3", "-svg", "x.svg", "-short", "-traces", "none"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.benchtime != "1s" || o.reps != 3 || o.svg != "x.svg" || len(o.procs) != 2 || o.procs[0] != 2 || o.procs[1] != 1 || !o.short || o.traces != "none" {
		t.Errorf("parseArgs = %+v", o)
	}
	if o, err := parseArgs(nil, io.Discard); err != nil || o.procs[0] != 1 || o.procs[len(o.procs)-1] != runtime.NumCPU() {
		t.Errorf("default -cpu = %v, %v; want 1 and %d", o.procs, err, runtime.NumCPU())
	}
	for _, args := range [][]string{{"-reps", "0"}, {"-cpu", "0"}, {"-cpu", "a"}, {"extra"}, {"-nope"}} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("parseArgs(%q) succeeded", args)
		}
	}
	var stderr bytes.Buffer
	if err := runReport([]string{"-benchtime", "soon"}, io.Discard, &stderr); err == nil || !strings.Contains(err.Error(), "-benchtime") {
		t.Errorf("runReport with a bad -benchtime: err = %v", err)
	}
}

func TestCPUModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpuinfo")
	info := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n\nprocessor\t: 1\nmodel name\t: other\n"
	if err := os.WriteFile(path, []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cpuModel(path); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(filepath.Join(t.TempDir(), "missing")); got != "unknown" {
		t.Errorf("cpuModel(missing) = %q, want unknown", got)
	}
}

// TestCases checks that a report measures every implementation and client
// in every section, once each.
func TestCases(t *testing.T) {
	procs := []int{1, 2, 4}
	r := newReport(config{reps: 1, procs: procs})
	impls, bounded := len(bench.Impls()), len(bench.Bounded(bench.Impls()))
	want := len(bench.Workloads())*len(procs)*impls + // hit path
		len(procs)*bounded + // mixed
		len(bench.HerdGoroutines())*impls + // herd
		len(bench.OpenAIClients()) + // OpenAI
		2*(len(bench.MissEntries())+1)*len(bench.MissImpls(true)) + // misses, and with the GC off at the largest
		len(bench.EntryCounts())*len(bench.MemoryImpls()) // memory
	if got := r.numCases(); got != want {
		t.Errorf("numCases() = %d, want %d", got, want)
	}
	seen := map[caseKey]bool{}
	for _, g := range r.cases() {
		for _, c := range g {
			if seen[c.caseKey] {
				t.Errorf("case %+v measured twice", c.caseKey)
			}
			seen[c.caseKey] = true
		}
	}
}

func TestFindTraceDir(t *testing.T) {
	if dir, err := findTraceDir("none"); dir != "" || err != nil {
		t.Errorf("findTraceDir(none) = %q, %v; want \"\", nil", dir, err)
	}
	if dir, err := findTraceDir("x/y"); dir != "x/y" || err != nil {
		t.Errorf("findTraceDir(x/y) = %q, %v", dir, err)
	}
	// Tests run in bench/cmd/benchreport: the traces are three levels up.
	dir, err := findTraceDir("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.LoadTrace(dir, "gli"); err != nil {
		t.Errorf("findTraceDir found %q, without gli: %v", dir, err)
	}
	t.Chdir(t.TempDir())
	if dir, err := findTraceDir(""); err == nil {
		t.Errorf("findTraceDir outside the repository = %q, want an error", dir)
	}
}

// TestShort checks what -short leaves out.
func TestShort(t *testing.T) {
	full := newReport(config{reps: 1, procs: []int{1}, traceDir: "x"})
	short := newReport(config{reps: 1, procs: []int{1}, traceDir: "x", short: true})
	if len(short.missEntries) != 1 || len(short.entryCounts) != 1 || len(short.traceRows) >= len(full.traceRows) {
		t.Errorf("-short: miss entries %v, entry counts %v, %d trace rows; want one, one, fewer than %d",
			short.missEntries, short.entryCounts, len(short.traceRows), len(full.traceRows))
	}
	if none := newReport(config{reps: 1, procs: []int{1}}); len(none.traceRows) != 0 {
		t.Errorf("without a trace directory, %d trace rows", len(none.traceRows))
	}
}
