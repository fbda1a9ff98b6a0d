package bench_test

import (
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/reuse-go/reuse/bench"
)

// traceTable returns the trace comparison of every policy: all rows, or in
// short mode and under the race detector (which adds nothing to a
// single-threaded replay but time), the short ones. It is computed once
// and shared by the tests.
func traceTable(t *testing.T) *bench.TraceTable {
	t.Helper()
	tableOnce.Do(func() {
		rows := bench.TraceRows()
		if testing.Short() || raceEnabled {
			rows = bench.ShortTraceRows()
		}
		table, tableErr = bench.CompareTraces(bench.TraceDir, rows, bench.TracePolicies())
	})
	if tableErr != nil {
		t.Fatal(tableErr)
	}
	return table
}

var (
	tableOnce sync.Once
	table     *bench.TraceTable // set once by tableOnce
	tableErr  error             // set once by tableOnce
)

// percent formats a hit ratio as the papers do: a percentage with two
// decimals.
func percent(hr float64) string {
	return strconv.FormatFloat(math.Round(hr*1e4)/100, 'f', 2, 64)
}

// column returns the column of policy name in tt, and fails t if that
// policy failed.
func column(t *testing.T, tt *bench.TraceTable, name string) int {
	t.Helper()
	p := tt.Column(name)
	if p < 0 {
		t.Fatalf("no policy %q in the trace comparison", name)
	}
	if err := tt.Errors[p]; err != nil {
		t.Fatalf("%s: %v", tt.Policies[p].Label, err)
	}
	return p
}

// TestTraceLRU checks that keyedcache's LRU, replayed by one goroutine,
// is exactly golang-lru's LRU on every row, and reaches the LRU figures
// published in the ARC paper (Megiddo and Modha, FAST 2003, Tables IV and
// VIII) on the rows they cover.
func TestTraceLRU(t *testing.T) {
	tt := traceTable(t)
	ours, ref := column(t, tt, "keyedcache-lru"), column(t, tt, "lru")
	published := map[bench.TraceRow]string{
		{Trace: "oltp", Size: 1000, Long: true}: "32.83",
		{Trace: "oltp", Size: 2000, Long: true}: "42.47",
		{Trace: "p3", Size: 32768, Long: true}:  "3.57",
	}
	pinned := 0
	for r, row := range tt.Rows {
		got := tt.Ratios[r][ours]
		if want := tt.Ratios[r][ref]; got != want {
			t.Errorf("%s at %d: keyedcache LRU hit ratio %v, golang-lru LRU %v: want equal", row.Trace, row.Size, got, want)
		}
		if want, ok := published[row]; ok {
			pinned++
			if p := percent(got); p != want {
				t.Errorf("%s at %d: keyedcache LRU hit ratio %s%%, want the published %s%%", row.Trace, row.Size, p, want)
			}
		}
	}
	if pinned == 0 && !testing.Short() && !raceEnabled {
		t.Errorf("no row with a published figure was replayed")
	}
}

// TestTraceTinyLFUTargets checks keyedcache's TinyLFU on every row: at
// most 0.5 points of hit ratio below otter's W-TinyLFU, and at most 1 point
// below the best of golang-lru's LRU, 2Q and ARC.
//
// One adjustment, stated in the README: loop is one cycle of 1011 keys
// repeated, so no cache of c entries can hit more than c/1011 of its
// requests, and otter, whose bound is applied by buffered maintenance, goes
// past that ceiling by holding more entries than its bound; there otter's
// figure is capped at the ceiling. A row in known, a known shortfall, is
// logged rather than failed; there is none since the policy's ghost rule
// brought P3 at 131072 (ARC's 50.17% against TinyLFU's 43 to 46% before)
// to 49.3 to 50.1%.
//
// TinyLFU's figure depends on the hash seed, which every cache draws anew
// (by up to 0.7 point on P3 at 8192 entries, where only 4% of requests
// hit, and 0.15 on loop at 1000), so the comparison replays each row
// through five caches (Impl.Seeded) and reports their median: the test
// fails a row where even the best of the five misses the target, and logs
// one where only the median does.
func TestTraceTinyLFUTargets(t *testing.T) {
	tt := traceTable(t)
	ours, otter := column(t, tt, "keyedcache-tinylfu"), column(t, tt, "otter")
	refs := []int{column(t, tt, "lru"), column(t, tt, "2q"), column(t, tt, "arc")}
	known := map[bench.TraceRow]bool{}
	for r, row := range tt.Rows {
		tr, err := bench.LoadTrace(bench.TraceDir, row.Trace)
		if err != nil {
			t.Fatal(err)
		}
		runs := tt.Seeds[r][ours] // sorted
		if len(runs) != bench.TraceSeeds || tt.Ratios[r][ours] != runs[bench.TraceSeeds/2] {
			t.Fatalf("%s at %d: TinyLFU replayed through %d caches, figure %v: want %d, and their median", row.Trace, row.Size, len(runs), tt.Ratios[r][ours], bench.TraceSeeds)
		}
		got := 100 * runs[bench.TraceSeeds/2]
		o := 100 * tt.Ratios[r][otter]
		if row.Trace == "loop" {
			ceiling := 100 * float64(min(row.Size, len(tr.Keys))) / float64(len(tr.Keys))
			if got > ceiling+1e-9 {
				t.Errorf("loop at %d: TinyLFU %.2f%% is above the ceiling %.2f%%: the cache held more than its bound", row.Size, got, ceiling)
			}
			o = min(o, ceiling)
		}
		best, bestName := -1.0, ""
		for _, p := range refs {
			if v := 100 * tt.Ratios[r][p]; v > best {
				best, bestName = v, tt.Policies[p].Label
			}
		}
		target := max(o-0.5, best-1.0)
		top := 100 * runs[len(runs)-1]
		switch {
		case got < target && known[row]:
			t.Logf("%s at %d: TinyLFU %.2f%%, otter %.2f%%, %s %.2f%%: known shortfall", row.Trace, row.Size, got, o, bestName, best)
		case known[row]:
			t.Logf("%s at %d: TinyLFU %.2f%% now meets its targets; take it off the known shortfalls", row.Trace, row.Size, got)
		case got < target && top >= target:
			t.Logf("%s at %d: TinyLFU %.2f%% (median; %.2f to %.2f over five caches), target %.2f: within the seeds' spread", row.Trace, row.Size, got, 100*runs[0], top, target)
		case got < o-0.5:
			t.Errorf("%s at %d: TinyLFU %.2f%% (median; at best %.2f), otter %.2f%%: want at most 0.5 points below", row.Trace, row.Size, got, top, o)
		case got < best-1.0:
			t.Errorf("%s at %d: TinyLFU %.2f%% (median; at best %.2f), %s %.2f%%: want at most 1 point below", row.Trace, row.Size, got, top, bestName, best)
		}
	}
}
