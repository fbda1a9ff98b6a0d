package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/reuse-go/reuse/bench"
)

// writeMarkdown prints r as Markdown: the machine, then one section per
// benchmark. It prints only what r measured.
func writeMarkdown(w io.Writer, r *report, command string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Benchmarks\n\n")
	fmt.Fprintf(&b, "Measured with `%s`. Each figure is the median of %s of %s each; "+
		"the runs of all implementations were interleaved.\n\n", command, plural(r.reps, "run"), r.benchtime)
	r.machineTable(&b)
	r.hitTables(&b)
	r.mixedTable(&b)
	r.herdTable(&b)
	r.missTables(&b)
	r.memoryTable(&b)
	r.traceTable(&b)
	r.openAITable(&b)
	r.failures(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *report) machineTable(b *strings.Builder) {
	m := r.machine
	b.WriteString("### Machine\n\n| | |\n|:--|:--|\n")
	fmt.Fprintf(b, "| CPU | %s |\n", escape(m.cpu))
	fmt.Fprintf(b, "| Cores | %d |\n", m.cores)
	fmt.Fprintf(b, "| GOMAXPROCS | %s (hit path, mixed); %d (thundering herd, misses, memory, OpenAI) |\n", joinInts(r.procs, ", "), r.maxProcs)
	fmt.Fprintf(b, "| Go | %s %s/%s |\n", m.goVer, m.goos, m.goarch)
	fmt.Fprintf(b, "| Date | %s |\n\n", m.started.Format("2006-01-02 15:04 MST"))
}

// hitColumns returns the (workload, GOMAXPROCS) columns of the hit path.
func (r *report) hitColumns() []caseKey {
	var cols []caseKey
	for _, w := range r.workloads {
		for _, p := range r.procs {
			cols = append(cols, caseKey{section: sectionHit, group: w, procs: p})
		}
	}
	return cols
}

func (r *report) hitTables(b *strings.Builder) {
	b.WriteString("### Hit path\n\n")
	fmt.Fprintf(b, "`b.RunParallel` reads of a pre-populated cache with %d-byte string keys, "+
		"replaying a fixed trace of %d reads: `hot16` reads 16 keys uniformly at random, "+
		"`zipf8192` reads 8192 keys under a Zipf distribution (s = %v). "+
		"Bounded caches hold twice the keys. "+
		"Beside each figure is its ratio to sync.Map in the same column: the median, over the runs, "+
		"of the ratio within each run (lower is better).\n\n",
		bench.KeyLen, bench.TraceLen, bench.ZipfS)

	cols := r.hitColumns()
	header := func(title string) {
		fmt.Fprintf(b, "%s\n\n| cache |", title)
		for _, c := range cols {
			fmt.Fprintf(b, " %s, GOMAXPROCS=%d |", c.group, c.procs)
		}
		b.WriteString("\n|:--|" + strings.Repeat("--:|", len(cols)) + "\n")
	}
	row := func(impl bench.Impl, cell func(s, base *summary) string) {
		fmt.Fprintf(b, "| %s |", escape(impl.Label))
		for _, c := range cols {
			c.name = impl.Name
			base := r.results[caseKey{sectionHit, c.group, c.procs, r.impls[0].Name}]
			fmt.Fprintf(b, " %s |", cell(r.results[c], base))
		}
		b.WriteString("\n")
	}

	table := func(title string, cell func(s, base *summary) string) {
		header(title)
		for _, impl := range r.impls {
			row(impl, func(s, base *summary) string {
				if !ok(s) {
					return "failed"
				}
				return cell(s, base)
			})
		}
		b.WriteString("\n")
	}
	table("ns/op:", func(s, base *summary) string { return formatNs(s.ns) + pairedLabel(s, base) })
	allocs := func(s *summary) float64 { return s.allocs }
	table("allocs/op:", func(s, base *summary) string {
		return formatFloat(s.allocs) + ratio(s.allocs, base, allocs)
	})
	r.policyRatios(b, cols)

	var missed []string
	measured := false
	for _, impl := range r.impls {
		for _, c := range cols {
			c.name = impl.Name
			s := r.results[c]
			if !ok(s) {
				continue
			}
			measured = true
			if hr := s.extra["hit-ratio"]; hr < 1 {
				missed = append(missed, fmt.Sprintf("%s on %s at GOMAXPROCS=%d: %s",
					escape(impl.Label), c.group, c.procs, formatPercent(hr)))
			}
		}
	}
	switch {
	case len(missed) > 0:
		b.WriteString("Hit ratio where reads missed (median): " + strings.Join(missed, "; ") + ".\n\n")
	case measured:
		b.WriteString("Every read hit.\n\n")
	}
}

// policyRatios prints what a hit costs under keyedcache's TinyLFU policy
// as a ratio to its cost under LRU, column by column, if both were
// measured.
func (r *report) policyRatios(b *strings.Builder, cols []caseKey) {
	var cells []string
	for _, c := range cols {
		lfu, lru := c, c
		lfu.name, lru.name = "keyedcache-tinylfu", "keyedcache-bounded"
		if q, paired := pairedRatio(r.results[lfu], r.results[lru]); paired {
			cells = append(cells, fmt.Sprintf("%.2fx on %s at GOMAXPROCS=%d", q, c.group, c.procs))
		}
	}
	if len(cells) > 0 {
		b.WriteString("A hit under keyedcache's TinyLFU policy costs, as a ratio to its cost under LRU " +
			"(keyedcache (bounded)) within each run: " + strings.Join(cells, ", ") + ".\n\n")
	}
}

func (r *report) mixedTable(b *strings.Builder) {
	b.WriteString("### Churn: mixed reads and loads\n\n")
	fmt.Fprintf(b, "`b.RunParallel` reads through each cache's get-or-load path: three reads in four "+
		"of a hot set of %d keys (Zipf, s = %v), one in four of a key never read before. "+
		"Every miss builds a value and adds it; the cache holds at most %d entries, "+
		"so it must evict. Bounded caches only. Allocations per miss are those beyond "+
		"the value the miss builds, counted over the whole run. The columns headed \"/\" give "+
		"ns/op as a ratio to that peer's at the same GOMAXPROCS: the median, over the runs, of the "+
		"ratio within each run.\n\n", bench.MixedHot, bench.ZipfS, bench.MixedBound)
	impls := bench.Bounded(r.impls)
	var refs []bench.Impl
	for _, impl := range impls {
		if slices.Contains(mixedRefs, impl.Name) {
			refs = append(refs, impl)
		}
	}
	b.WriteString("| cache | GOMAXPROCS | ns/op |")
	for _, ref := range refs {
		fmt.Fprintf(b, " / %s |", escape(ref.Label))
	}
	b.WriteString(" allocs/op | allocs/miss | hit ratio |\n|:--|--:|--:|" + strings.Repeat("--:|", len(refs)) + "--:|--:|--:|\n")
	for _, p := range r.procs {
		for _, impl := range impls {
			s := r.results[caseKey{sectionMixed, mixedGroup, p, impl.Name}]
			if !ok(s) {
				fmt.Fprintf(b, "| %s | %d | failed |%s failed | failed | failed |\n", escape(impl.Label), p, strings.Repeat(" - |", len(refs)))
				continue
			}
			fmt.Fprintf(b, "| %s | %d | %s |", escape(impl.Label), p, formatNs(s.ns))
			for _, ref := range refs {
				if q, paired := pairedRatio(s, r.results[caseKey{sectionMixed, mixedGroup, p, ref.Name}]); paired {
					fmt.Fprintf(b, " %.2fx |", q)
				} else {
					b.WriteString(" - |")
				}
			}
			fmt.Fprintf(b, " %s | %.3f | %s |\n", formatFloat(s.allocs), s.extra["allocs/miss"], formatPercent(s.extra["hit-ratio"]))
		}
	}
	b.WriteString("\n")
}

// mixedRefs names the peers that the churn table gives ratios to: the
// single mutex that most Go programs use (golang-lru) and the concurrent
// cache built for churn (otter).
var mixedRefs = []string{"lru", "otter"}

func (r *report) herdTable(b *strings.Builder) {
	b.WriteString("### Thundering herd\n\n")
	fmt.Fprintf(b, "Per round, N goroutines released together ask for one missing key whose loader "+
		"takes %v. Loader calls per round, at GOMAXPROCS=%d. keyedcache and otter load through "+
		"their own loader; the others are used check-then-add "+
		"(get, build, add; `LoadOrStore` for sync.Map).\n\n", bench.HerdLoadTime, r.maxProcs)
	b.WriteString("| cache |")
	for _, n := range r.herdSizes {
		fmt.Fprintf(b, " N = %d |", n)
	}
	b.WriteString("\n|:--|" + strings.Repeat("--:|", len(r.herdSizes)) + "\n")
	for _, impl := range r.impls {
		fmt.Fprintf(b, "| %s |", escape(impl.Label))
		for _, n := range r.herdSizes {
			s := r.results[caseKey{sectionHerd, herdGroup(n), r.maxProcs, impl.Name}]
			if !ok(s) {
				b.WriteString(" failed |")
				continue
			}
			fmt.Fprintf(b, " %s |", formatFloat(s.extra["loads/op"]))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func (r *report) missTables(b *strings.Builder) {
	if len(r.missEntries) == 0 {
		return
	}
	b.WriteString("### Misses as the cache grows\n\n")
	fmt.Fprintf(b, "One goroutine asks for keys never requested before: each miss builds a value "+
		"and adds it, at GOMAXPROCS=%d. Unbounded, a cache holds between N and 1.5 N values "+
		"(it is filled afresh, untimed, after N/2 misses; golang-lru gets a bound it never "+
		"reaches); bounded at N, every miss also evicts. Each cell is the mean time per miss "+
		"(with two clock reads), then the slowest single miss of the run.\n\n", r.maxProcs)
	for _, bounded := range []bool{false, true} {
		title := "Unbounded:"
		if bounded {
			title = "Bounded at N:"
		}
		fmt.Fprintf(b, "%s\n\n| cache |", title)
		for _, n := range r.missEntries {
			fmt.Fprintf(b, " N = %s |", bench.FormatCount(n))
		}
		b.WriteString("\n|:--|" + strings.Repeat("--:|", len(r.missEntries)) + "\n")
		for _, impl := range bench.MissImpls(bounded) {
			fmt.Fprintf(b, "| %s |", escape(impl.Label))
			for _, n := range r.missEntries {
				s := r.results[caseKey{sectionMisses, missGroup(bounded, n), r.maxProcs, impl.Name}]
				if !ok(s) {
					b.WriteString(" failed |")
					continue
				}
				fmt.Fprintf(b, " %s (max %s) |", formatNs(s.ns), formatNs(s.extra["max-ns/miss"]))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		n := r.missLargest()
		fmt.Fprintf(b, "Slowest single miss at N = %s with the garbage collector off while the misses are timed "+
			"(on while the cache is filled): the cache's own work, without the collector's pauses and scheduling:", bench.FormatCount(n))
		for i, impl := range bench.MissImpls(bounded) {
			sep := ","
			if i == 0 {
				sep = ""
			}
			s := r.results[caseKey{sectionMisses, missGroup(bounded, n) + gcOffGroup, r.maxProcs, impl.Name}]
			if !ok(s) {
				fmt.Fprintf(b, "%s %s failed", sep, escape(impl.Label))
				continue
			}
			fmt.Fprintf(b, "%s %s %s", sep, escape(impl.Label), formatNs(s.extra["max-ns/miss"]))
		}
		b.WriteString(".\n\n")
	}
}

func (r *report) memoryTable(b *strings.Builder) {
	if len(r.entryCounts) == 0 {
		return
	}
	b.WriteString("### Bytes per entry\n\n")
	b.WriteString("Growth of the live heap (after a garbage collection) while a cache loads N entries, " +
		"divided by N. The keys (distinct strings) and values exist before, so neither is counted: " +
		"what is left is the cache's tables, entries and lists. Bounded caches are bounded at N.\n\n")
	b.WriteString("| cache |")
	for _, n := range r.entryCounts {
		fmt.Fprintf(b, " N = %s |", bench.FormatCount(n))
	}
	b.WriteString("\n|:--|" + strings.Repeat("--:|", len(r.entryCounts)) + "\n")
	for _, impl := range bench.MemoryImpls() {
		fmt.Fprintf(b, "| %s |", escape(impl.Label))
		for _, n := range r.entryCounts {
			s := r.results[caseKey{sectionMemory, memoryGroup(n), r.maxProcs, impl.Name}]
			if !ok(s) {
				b.WriteString(" failed |")
				continue
			}
			fmt.Fprintf(b, " %s B |", formatFloat(math.Round(s.extra["B/entry"])))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func (r *report) traceTable(b *strings.Builder) {
	if len(r.traceRows) == 0 {
		return
	}
	b.WriteString("### Hit ratios on traces\n\n")
	b.WriteString("Each trace replayed by one goroutine through a cache bounded at the given size, " +
		"every miss loading its key (cold start). OLTP and P3 are the ARC paper's traces " +
		"(Megiddo and Modha, FAST 2003), loop and gli the LIRS paper's. Hit ratios in percent; " +
		"higher is better.\n\n")
	tt := r.traces
	if tt == nil {
		fmt.Fprintf(b, "Not measured: %s.\n\n", escape(fmt.Sprint(r.traceErr)))
		return
	}
	b.WriteString("| trace | size |")
	for _, p := range tt.Policies {
		fmt.Fprintf(b, " %s |", escape(p.Label))
	}
	b.WriteString("\n|:--|--:|" + strings.Repeat("--:|", len(tt.Policies)) + "\n")
	cell := func(v float64) string {
		if math.IsNaN(v) {
			return "error"
		}
		return strconv.FormatFloat(100*v, 'f', 2, 64)
	}
	for i, row := range tt.Rows {
		fmt.Fprintf(b, "| %s | %d |", row.Trace, row.Size)
		for p := range tt.Policies {
			fmt.Fprintf(b, " %s |", cell(tt.Ratios[i][p]))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "| **mean** | |")
	for p := range tt.Policies {
		fmt.Fprintf(b, " **%s** |", cell(tt.Means[p]))
	}
	b.WriteString("\n\n")
	for p, impl := range tt.Policies {
		if !impl.Seeded || tt.Errors[p] != nil {
			continue
		}
		wide, lo, hi := -1, 0.0, 0.0
		for i := range tt.Rows {
			runs := tt.Seeds[i][p]
			if d := runs[len(runs)-1] - runs[0]; wide < 0 || d > hi-lo {
				wide, lo, hi = i, runs[0], runs[len(runs)-1]
			}
		}
		fmt.Fprintf(b, "%s draws a hash seed for each cache, and its hit ratios move with it: each of its "+
			"figures is the median of %d caches. The widest spread was on %s at %d: %s to %s.\n\n",
			escape(impl.Label), bench.TraceSeeds, tt.Rows[wide].Trace, tt.Rows[wide].Size, cell(lo), cell(hi))
	}
	for p, err := range tt.Errors {
		if err != nil {
			fmt.Fprintf(b, "%s did not run: %s.\n\n", escape(tt.Policies[p].Label), escape(err.Error()))
		}
	}
}

func (r *report) openAITable(b *strings.Builder) {
	b.WriteString("### OpenAI clients\n\n")
	fmt.Fprintf(b, "Chat completions made by %d goroutines at once against the in-process "+
		"`openaitest` server on 127.0.0.1, at GOMAXPROCS=%d. ns/op is the elapsed time "+
		"divided by the calls; allocs/op counts the whole process, the server's included; "+
		"connections are the TCP connections the server accepted, per call. "+
		"The clients differ only in how a call gets one (and the transport that comes with it): "+
		"all send the same request and headers, with the same per-attempt timeout and no retries, "+
		"and the client made per call closes its connection after the call.\n\n",
		bench.OpenAIConcurrency, r.maxProcs)
	b.WriteString("| client | ns/op | allocs/op | connections per call |\n|:--|--:|--:|--:|\n")
	for _, c := range r.clients {
		s := r.results[caseKey{sectionOpenAI, openAIGroup, r.maxProcs, c.Name}]
		if !ok(s) {
			fmt.Fprintf(b, "| %s | failed | failed | failed |\n", escape(c.Label))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", escape(c.Label),
			formatNs(s.ns), formatFloat(s.allocs), formatFloat(s.extra["conns/op"]))
	}
	b.WriteString("\n")
}

// failures lists the measurements that failed in any run.
func (r *report) failures(b *strings.Builder) {
	var lines []string
	for _, group := range r.cases() {
		for _, c := range group {
			s := r.results[c.caseKey]
			if s == nil || s.failures == 0 {
				continue
			}
			lines = append(lines, fmt.Sprintf("- `%s` at GOMAXPROCS=%d failed in %d of %d runs; "+
				"to see why: `go test -run '^$' -bench '%s' -cpu %d ./bench/`",
				c.goTestPattern(), c.procs, s.failures, s.failures+s.runs, c.goTestPattern(), c.procs))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("### Failures\n\nFigures above are medians of the runs that succeeded.\n\n")
	b.WriteString(strings.Join(lines, "\n") + "\n\n")
}

// ok reports whether s has at least one successful run.
func ok(s *summary) bool { return s != nil && s.runs > 0 }

// ratio returns " (0.84x)": v divided by base's value, or "" when base was
// not measured or both are 0.
func ratio(v float64, base *summary, of func(*summary) float64) string {
	if !ok(base) {
		return ""
	}
	bv := of(base)
	switch {
	case bv > 0:
		return fmt.Sprintf(" (%.2fx)", v/bv)
	case v == 0:
		return ""
	default:
		return " (sync.Map: 0)"
	}
}

// formatNs formats a duration in nanoseconds with three significant digits.
func formatNs(ns float64) string {
	switch {
	case ns < 1e3:
		return sig3(ns) + " ns"
	case ns < 1e6:
		return sig3(ns/1e3) + " µs"
	case ns < 1e9:
		return sig3(ns/1e6) + " ms"
	default:
		return sig3(ns/1e9) + " s"
	}
}

// sig3 formats v >= 0 with three significant digits, or all of its integer
// digits.
func sig3(v float64) string {
	decimals := 0
	switch {
	case v < 10:
		decimals = 2
	case v < 100:
		decimals = 1
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// formatFloat formats v with three significant digits (all of its integer
// digits from 100 on), without exponent.
func formatFloat(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}

// formatPercent formats a ratio in [0, 1] as a percentage.
func formatPercent(v float64) string {
	if v == 1 {
		return "100%"
	}
	return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
}

// escape makes s safe in a Markdown table cell.
func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func joinInts(vs []int, sep string) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, sep)
}

// plural returns "1 run" or "5 runs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
