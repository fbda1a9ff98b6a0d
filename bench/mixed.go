package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Parameters of the mixed workload.
const (
	MixedBound = 1024    // entries a cache may hold in Mixed
	MixedHot   = 512     // keys in the hot set, read under a Zipf distribution
	MixedCold  = 1 << 18 // keys never seen before, read in turn; a power of two
)

// mixedColdBase is the index of the first cold key, far from the hot keys.
const mixedColdBase = 1_000_000

// MixedWorkload returns the keys of [Mixed]: Hot holds MixedHot keys and a
// Zipf trace over them, Cold holds MixedCold keys that the hot set never
// reads. Built once and shared.
func MixedWorkload() (hot Workload, cold []string) {
	mixedOnce.Do(func() {
		mixedHot = newWorkload("hot512", MixedHot, zipf)
		mixedCold = make([]string, MixedCold)
		for i := range mixedCold {
			mixedCold[i] = Key(mixedColdBase + i)
		}
	})
	return mixedHot, mixedCold
}

var (
	mixedOnce sync.Once
	mixedHot  Workload // set once by mixedOnce
	mixedCold []string // set once by mixedOnce
)

// Mixed measures a cache under churn: three reads in four are of the hot
// set, the fourth of a key never seen before, all through
// [Cache.GetOrLoad], so each miss builds and adds a value. The cache holds
// at most MixedBound entries, which forces evictions. Each goroutine walks
// its own part of the cold keys; MixedCold is large enough that a cold key
// read again was evicted long before. The "hit-ratio" metric is the share of
// reads that did not build a value: 0.75 if the hot set always hit. The
// "allocs/miss" metric counts the allocations per miss beyond the value.
func Mixed(b *testing.B, impl Impl) {
	hot, cold := MixedWorkload()
	var loads atomic.Int64
	c, err := impl.New(MixedBound, countLoads(&loads, build))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := populate(c, hot.Keys); err != nil {
		b.Fatal(err)
	}
	loadsBefore := loads.Load()

	var (
		goroutines atomic.Uint32
		failed     firstError
	)
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := goroutines.Add(1) - 1
		i := traceStart(g)
		j := coldStart(g)
		for n := 0; pb.Next(); n++ {
			key := hot.Trace[i]
			if n%4 == 3 {
				key = cold[j]
				j = (j + 1) & (MixedCold - 1)
			} else {
				i = (i + 1) & (TraceLen - 1)
			}
			v, err := c.GetOrLoad(ctx, key)
			failed.set(checkValue(key, v, err))
		}
	})
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if err := failed.get(); err != nil {
		b.Fatal(err)
	}
	misses := loads.Load() - loadsBefore
	b.ReportMetric(1-float64(misses)/float64(b.N), "hit-ratio")
	if misses > 0 {
		// The loop allocates nothing on a hit (TestMixedHitAllocs); each
		// miss allocates its value, once.
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(misses)-1, "allocs/miss")
	}
}

// coldStart returns where the g-th goroutine of Mixed starts reading the
// cold keys: sixteen goroutines start evenly spread.
func coldStart(g uint32) int {
	return int(g) * (MixedCold / 16) % MixedCold
}
