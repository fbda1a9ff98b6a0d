package bench

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestKey(t *testing.T) {
	seen := map[string]int{}
	for _, i := range []int{0, 1, 15, 8191, mixedColdBase, mixedColdBase + MixedCold - 1, herdKeyBase, 9_999_999} {
		k := Key(i)
		if len(k) != KeyLen {
			t.Errorf("len(Key(%d)) = %d, want %d (%q)", i, len(k), KeyLen, k)
		}
		if j, dup := seen[k]; dup {
			t.Errorf("Key(%d) = Key(%d) = %q", i, j, k)
		}
		seen[k] = i
	}
}

func TestWorkloads(t *testing.T) {
	ws := Workloads()
	wantKeys := map[string]int{"hot16": 16, "zipf8192": 8192}
	if len(ws) != len(wantKeys) {
		t.Fatalf("got %d workloads, want %d", len(ws), len(wantKeys))
	}
	for _, w := range ws {
		if n := len(w.Keys); n != wantKeys[w.Name] {
			t.Errorf("%s: %d keys, want %d", w.Name, n, wantKeys[w.Name])
		}
		if len(w.Trace) != TraceLen {
			t.Errorf("%s: trace of %d reads, want %d", w.Name, len(w.Trace), TraceLen)
		}
		count := map[string]int{}
		for _, k := range w.Trace {
			count[k]++
		}
		for k := range count {
			if !strings.HasPrefix(k, "tenant-") || len(k) != KeyLen {
				t.Errorf("%s: trace reads %q, not one of its keys", w.Name, k)
			}
		}
		if again := Workloads(); &again[0].Trace[0] != &ws[0].Trace[0] {
			t.Errorf("Workloads built its traces twice")
		}
		switch w.Name {
		case "hot16":
			if len(count) != 16 {
				t.Errorf("hot16: trace reads %d distinct keys, want all 16", len(count))
			}
		case "zipf8192":
			// Under Zipf with s = 1.01, Key(0) is the most read key, and the
			// first tenth of the keys takes about three reads in four.
			top := count[w.Keys[0]]
			for k, n := range count {
				if n > top {
					t.Errorf("zipf8192: %q read %d times, more than Key(0) (%d)", k, n, top)
				}
			}
			head := 0
			for _, k := range w.Keys[:len(w.Keys)/10] {
				head += count[k]
			}
			if head < TraceLen*6/10 {
				t.Errorf("zipf8192: the first tenth of the keys takes %d of %d reads, want a heavy head", head, TraceLen)
			}
		}
	}
	// The trace is a function of the seed alone.
	a, b := newWorkload("a", 8192, zipf), newWorkload("b", 8192, zipf)
	for i := range a.Trace {
		if a.Trace[i] != b.Trace[i] {
			t.Fatalf("traces differ at %d: %q vs %q", i, a.Trace[i], b.Trace[i])
		}
	}
}

func TestTraceStartDistinct(t *testing.T) {
	seen := map[int]uint32{}
	for g := range uint32(64) {
		s := traceStart(g)
		if s < 0 || s >= TraceLen {
			t.Errorf("traceStart(%d) = %d, out of [0, %d)", g, s, TraceLen)
		}
		if h, dup := seen[s]; dup {
			t.Errorf("traceStart(%d) = traceStart(%d) = %d", g, h, s)
		}
		seen[s] = g
	}
}

func TestColdStart(t *testing.T) {
	for g := range uint32(64) {
		if s := coldStart(g); s < 0 || s >= MixedCold {
			t.Errorf("coldStart(%d) = %d, out of [0, %d)", g, s, MixedCold)
		}
	}
	if coldStart(1) == coldStart(0) {
		t.Errorf("goroutines 0 and 1 read the same cold keys")
	}
}

func TestImpls(t *testing.T) {
	impls := Impls()
	if len(impls) == 0 || impls[0].Name != "syncmap" {
		t.Fatalf("Impls must start with the sync.Map baseline, got %+v", impls)
	}
	names := map[string]bool{}
	for _, im := range impls {
		if im.Name == "" || im.Label == "" || im.New == nil {
			t.Errorf("incomplete Impl %+v", im)
		}
		if strings.ContainsAny(im.Name, "/ =") {
			t.Errorf("Name %q does not fit a key=value benchmark path", im.Name)
		}
		if names[im.Name] {
			t.Errorf("Name %q used twice", im.Name)
		}
		names[im.Name] = true
	}
	for _, want := range []string{"syncmap", "lru", "otter", "ristretto", "keyedcache", "keyedcache-bounded", "keyedcache-tinylfu"} {
		if !names[want] {
			t.Errorf("Impls lacks %q", want)
		}
	}
	if got := len(Bounded(impls)); got != 5 {
		t.Errorf("Bounded(Impls()) has %d caches, want 5", got)
	}
}

// TestCaches checks what the benchmarks rely on in every adapter.
func TestCaches(t *testing.T) {
	ctx := context.Background()
	for _, im := range Impls() {
		t.Run(im.Name, func(t *testing.T) {
			var loads atomic.Int64
			c, err := im.New(64, countLoads(&loads, build))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			// A Get of a missing key misses, or (keyedcache) loads it.
			v, ok := c.Get(Key(1))
			if ok != (loads.Load() == 1) {
				t.Errorf("Get(missing) = _, %v with %d loads: a hit must be a load", ok, loads.Load())
			}
			if ok && v.Key != Key(1) {
				t.Errorf("Get(%q) returned the value of %q", Key(1), v.Key)
			}

			keys := []string{Key(2), Key(3), Key(4)}
			before := loads.Load()
			if err := populate(c, keys); err != nil {
				t.Fatal(err)
			}
			if got := loads.Load() - before; got != int64(len(keys)) {
				t.Errorf("populating %d keys made %d loads", len(keys), got)
			}
			for _, k := range keys {
				v, ok := c.Get(k)
				if !ok || v.Key != k {
					t.Errorf("Get(%q) after loading it = %v, %v", k, v, ok)
				}
				v, err := c.GetOrLoad(ctx, k)
				if err := checkValue(k, v, err); err != nil {
					t.Errorf("GetOrLoad(%q): %v", k, err)
				}
			}
			if got := loads.Load() - before; got != int64(len(keys)) {
				t.Errorf("reading loaded keys made %d more loads", got-int64(len(keys)))
			}

			failing := func(context.Context, string) (*Value, error) { return nil, errBoom }
			f, err := im.New(64, failing)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.GetOrLoad(ctx, Key(5)); !errors.Is(err, errBoom) {
				t.Errorf("GetOrLoad with a failing loader: err = %v, want %v", err, errBoom)
			}

			if im.Bounded {
				if _, err := im.New(0, build); err == nil {
					t.Errorf("New(0) of a bounded cache succeeded")
				}
			}
		})
	}
}

var errBoom = errors.New("boom")

// TestBoundedEvicts checks that bounded adapters pass their bound on.
func TestBoundedEvicts(t *testing.T) {
	const size, n = 16, 512
	keys := make([]string, n)
	for i := range keys {
		keys[i] = Key(i)
	}
	for _, im := range Bounded(Impls()) {
		t.Run(im.Name, func(t *testing.T) {
			c, err := im.New(size, build)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := populate(c, keys); err != nil {
				t.Fatal(err)
			}
			// Some caches evict asynchronously: give them time.
			deadline := time.Now().Add(5 * time.Second)
			for {
				held := 0
				for _, k := range keys {
					if _, ok := peek(c, k); ok {
						held++
					}
				}
				if held <= 2*size {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d keys still cached with a bound of %d", held, n, size)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// peek looks key up without loading it.
func peek(c Cache, key string) (*Value, bool) {
	if kc, ok := c.(keyedCache); ok {
		return kc.c.Peek(key)
	}
	return c.Get(key)
}

// TestHerdRound checks the loads a herd causes: one for caches that load
// each key once, one per goroutine for check-then-add.
func TestHerdRound(t *testing.T) {
	const n = 8
	once := map[string]bool{"otter": true, "keyedcache": true, "keyedcache-bounded": true, "keyedcache-tinylfu": true}
	for _, im := range Impls() {
		t.Run(im.Name, func(t *testing.T) {
			var loads, arrived atomic.Int64
			load := slowBuild
			if !once[im.Name] {
				// Hold every load until all n goroutines are loading, so the
				// result does not depend on scheduling.
				load = func(ctx context.Context, key string) (*Value, error) {
					arrived.Add(1)
					for deadline := time.Now().Add(5 * time.Second); arrived.Load() < n; {
						if time.Now().After(deadline) {
							return nil, errors.New("not every goroutine loaded")
						}
						time.Sleep(time.Millisecond)
					}
					return build(ctx, key)
				}
			}
			c, err := im.New(herdBound, countLoads(&loads, load))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := herdRound(context.Background(), c, n, Key(herdKeyBase)); err != nil {
				t.Fatal(err)
			}
			want := int64(n)
			if once[im.Name] {
				want = 1
			}
			if got := loads.Load(); got != want {
				t.Errorf("a herd of %d made %d loads, want %d", n, got, want)
			}
		})
	}
}

// TestMixedHitAllocs checks that Mixed's loop, around a hit, allocates
// nothing of its own: with sync.Map, whose hit allocates nothing, a step of
// the loop must not allocate, so Mixed's allocs/op are the cache's.
func TestMixedHitAllocs(t *testing.T) {
	c, err := newSyncMap(0, build)
	if err != nil {
		t.Fatal(err)
	}
	key := Key(1)
	if err := populate(c, []string{key}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var failed firstError
	allocs := testing.AllocsPerRun(1000, func() {
		v, err := c.GetOrLoad(ctx, key)
		failed.set(checkValue(key, v, err))
	})
	if allocs != 0 {
		t.Errorf("a hit in Mixed's loop allocates %v times, want 0", allocs)
	}
	if err := failed.get(); err != nil {
		t.Fatal(err)
	}
}

func TestFirstError(t *testing.T) {
	var f firstError
	f.set(nil)
	if err := f.get(); err != nil {
		t.Errorf("get() after set(nil) = %v, want nil", err)
	}
	second := errors.New("second")
	f.set(errBoom)
	f.set(second)
	f.set(nil)
	if err := f.get(); err != errBoom {
		t.Errorf("get() = %v, want the first error, %v", err, errBoom)
	}
}

func TestParseTrace(t *testing.T) {
	for _, tc := range []struct {
		format, in string
		keys       []string
		requests   []uint32
	}{
		{"arc", "10 3 0 1\n5 1 0 2\n11 2 0 3\n", []string{"10", "11", "12", "5"}, []uint32{0, 1, 2, 3, 1, 2}},
		{"lirs", "7\n\n*\n3\n7\n", []string{"7", "3"}, []uint32{0, 1, 0}},
	} {
		tr, err := parseTrace(strings.NewReader(tc.in), "x", tc.format)
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		if !slices.Equal(tr.Keys, tc.keys) || !slices.Equal(tr.Requests, tc.requests) {
			t.Errorf("%s: keys %q, requests %v; want %q, %v", tc.format, tr.Keys, tr.Requests, tc.keys, tc.requests)
		}
	}
	for _, tc := range []struct{ format, in string }{
		{"arc", "10\n"}, {"arc", "a 1 0 1\n"}, {"lirs", "x\n"}, {"lirs", "\n*\n"},
	} {
		if _, err := parseTrace(strings.NewReader(tc.in), "x", tc.format); err == nil {
			t.Errorf("%s %q parsed without error", tc.format, tc.in)
		}
	}
}

func TestLoadTrace(t *testing.T) {
	a, err := LoadTrace(TraceDir, "gli")
	if err != nil {
		t.Fatal(err)
	}
	// From the traces' README.
	if len(a.Requests) != 6015 || len(a.Keys) != 2529 {
		t.Errorf("gli: %d requests of %d keys, want 6015 of 2529", len(a.Requests), len(a.Keys))
	}
	if b, _ := LoadTrace(TraceDir, "gli"); b != a {
		t.Errorf("LoadTrace parsed gli twice")
	}
	if _, err := LoadTrace(TraceDir, "nope"); err == nil {
		t.Errorf("LoadTrace of an unknown trace succeeded")
	}
	if _, err := LoadTrace(t.TempDir(), "gli"); err == nil {
		t.Errorf("LoadTrace of a missing file succeeded")
	}
}

func TestCompareTracesError(t *testing.T) {
	failing := Impl{Name: "failing", Label: "failing", Bounded: true,
		New: func(int, LoadFunc) (Cache, error) { return nil, errBoom }}
	policies := []Impl{failing, TracePolicies()[2]}
	tt, err := CompareTraces(TraceDir, ShortTraceRows(), policies)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(tt.Errors[0], errBoom) || !math.IsNaN(tt.Means[0]) || !math.IsNaN(tt.Ratios[0][0]) {
		t.Errorf("failing policy: error %v, mean %v, want %v and NaN", tt.Errors[0], tt.Means[0], errBoom)
	}
	if tt.Errors[1] != nil || tt.Means[1] <= 0 || tt.Means[1] >= 1 {
		t.Errorf("golang-lru: error %v, mean %v", tt.Errors[1], tt.Means[1])
	}
	if tt.Column("lru") != 1 || tt.Column("nope") != -1 {
		t.Errorf("Column gives %d and %d, want 1 and -1", tt.Column("lru"), tt.Column("nope"))
	}
	if _, err := CompareTraces(t.TempDir(), ShortTraceRows(), policies); err == nil {
		t.Errorf("CompareTraces without trace files succeeded")
	}
}

// TestCompareTracesSeeded: a Seeded policy is replayed through TraceSeeds
// caches, and its figure is their median. The fake policy's n-th cache is
// bounded at n entries (1, 2, ...), so that each cache hits differently;
// the three-entry one is the median, as a plain replay at size 3 shows.
func TestCompareTracesSeeded(t *testing.T) {
	var made atomic.Int32
	lru := TracePolicies()[2]
	seeded := Impl{Name: "seeded", Label: "seeded", Bounded: true, Seeded: true,
		New: func(_ int, load LoadFunc) (Cache, error) { return lru.New(int(made.Add(1)), load) }}
	rows := ShortTraceRows()[:1]
	tt, err := CompareTraces(TraceDir, rows, []Impl{seeded})
	if err != nil {
		t.Fatal(err)
	}
	runs := tt.Seeds[0][0]
	if len(runs) != TraceSeeds || !slices.IsSorted(runs) || runs[0] == runs[TraceSeeds-1] {
		t.Fatalf("Seeds = %v, want %d sorted, distinct hit ratios", runs, TraceSeeds)
	}
	tr, err := LoadTrace(TraceDir, rows[0].Trace)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReplayTrace(lru, tr, TraceSeeds/2+1)
	if err != nil {
		t.Fatal(err)
	}
	if got := tt.Ratios[0][0]; got != want || got != runs[TraceSeeds/2] {
		t.Errorf("Ratios = %v, want the median %v (seeds %v)", got, want, runs)
	}
	if n := int64(len(tr.Requests)) * TraceSeeds; tt.Requests != n {
		t.Errorf("Requests = %d, want %d", tt.Requests, n)
	}
}

func TestFormatCount(t *testing.T) {
	for n, want := range map[int]string{1000: "1e3", 1_000_000: "1e6", 10: "1e1", 1: "1", 2000: "2000", 512: "512"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestUnbounded checks that the caches of MissImpls(false) do not evict.
func TestUnbounded(t *testing.T) {
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = Key(i)
	}
	for _, bounded := range []bool{false, true} {
		impls := MissImpls(bounded)
		if len(impls) != 3 {
			t.Errorf("MissImpls(%v) has %d caches, want 3", bounded, len(impls))
		}
		for _, im := range impls {
			if im.Bounded != bounded {
				t.Errorf("MissImpls(%v): %s has Bounded %v", bounded, im.Name, im.Bounded)
			}
			if bounded {
				continue
			}
			c, err := im.New(16, build)
			if err != nil {
				t.Fatal(err)
			}
			if err := populate(c, keys); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if _, ok := peek(c, k); !ok {
					t.Errorf("unbounded %s evicted %q", im.Name, k)
					break
				}
			}
			c.Close()
		}
	}
}
