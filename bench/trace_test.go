package bench_test

import (
	"container/heap"
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
// repeated, so a cache of c entries replaying it cold misses the whole
// first cycle and then at least 1011-c requests of every cycle: its hit
// ratio is at most (R-1011)/R * c/1011 for R requests (98.71% at 1000
// entries; Belady's optimal replacement reaches it exactly). Otter, whose
// bound is applied by buffered maintenance, goes past that ceiling by
// holding more entries than its bound; there otter's figure is capped at
// the ceiling. A row in known, a known shortfall, is
// logged rather than failed; there is none since the policy's ghost rule
// brought P3 at 131072 (ARC's 50.17% against TinyLFU's 43 to 46% before)
// to 49.3 to 50.1%.
//
// TinyLFU's figure depends on the hash seed, which every cache draws anew
// (over sixteen seeds of the policy alone, by 2 points on P3 at 131072, 7
// on gli at 1000, 0.9 on P3 at 8192, where only 4% of requests hit, and
// 0.35 on loop at 1000 over 24 caches), so the comparison replays each row
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
			ceiling := cycleCeiling(len(tr.Requests), len(tr.Keys), row.Size)
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

// cycleCeiling returns the highest hit ratio, in percent, that a cache of
// size entries can reach replaying cold a trace of requests requests that
// cycles through keys keys in one order: the first cycle misses, then at
// most size of every keys consecutive requests hit.
func cycleCeiling(requests, keys, size int) float64 {
	return 100 * float64(requests-keys) / float64(requests) * float64(min(size, keys)) / float64(keys)
}

// TestCycleCeilingIsBelady checks cycleCeiling against Belady's optimal
// replacement (evict the key requested again last) replaying loop cold at
// the comparison's sizes: the ceiling must be reachable, and not beaten.
func TestCycleCeilingIsBelady(t *testing.T) {
	tr, err := bench.LoadTrace(bench.TraceDir, "loop")
	if err != nil {
		t.Fatal(err)
	}
	reqs := tr.Requests
	// next[i] is the index of the next request for the key of request i.
	next := make([]int, len(reqs))
	last := make(map[uint32]int)
	for i := len(reqs) - 1; i >= 0; i-- {
		next[i] = len(reqs)
		if j, ok := last[reqs[i]]; ok {
			next[i] = j
		}
		last[reqs[i]] = i
	}
	for _, size := range []int{512, 1000} {
		held := map[uint32]int{} // key -> the index of its next request
		far := &farthest{}
		hits := 0
		for i, k := range reqs {
			if _, ok := held[k]; ok {
				hits++
			} else if len(held) >= size {
				for {
					e := heap.Pop(far).([2]int)
					if n, ok := held[uint32(e[0])]; ok && n == e[1] {
						delete(held, uint32(e[0]))
						break
					}
				}
			}
			held[k] = next[i]
			heap.Push(far, [2]int{int(k), next[i]})
		}
		opt := 100 * float64(hits) / float64(len(reqs))
		if c := cycleCeiling(len(reqs), len(tr.Keys), size); math.Abs(opt-c) > 1e-9 {
			t.Errorf("loop at %d: Belady hits %.4f%%, cycleCeiling says %.4f%%", size, opt, c)
		}
	}
}

// farthest is a max-heap of (key, index of its next request) by the index.
type farthest [][2]int

func (f farthest) Len() int           { return len(f) }
func (f farthest) Less(i, j int) bool { return f[i][1] > f[j][1] }
func (f farthest) Swap(i, j int)      { f[i], f[j] = f[j], f[i] }
func (f *farthest) Push(x any)        { *f = append(*f, x.([2]int)) }
func (f *farthest) Pop() any {
	old := *f
	x := old[len(old)-1]
	*f = old[:len(old)-1]
	return x
}
