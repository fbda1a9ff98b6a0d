package bench

import (
	"context"
	"sync/atomic"
	"testing"
)

// HitPath measures reads of a cache holding every key of w: b.RunParallel
// goroutines call [Cache.Get] for the keys of w.Trace, each from its own
// starting point. A bounded cache is sized at twice the keys, so every read
// should hit. The "hit-ratio" metric is the share of reads that found their
// value without a load: anything below 1 means the implementation missed.
func HitPath(b *testing.B, impl Impl, w Workload) {
	var loads atomic.Int64
	c, err := impl.New(2*len(w.Keys), countLoads(&loads, build))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := populate(c, w.Keys); err != nil {
		b.Fatal(err)
	}
	loadsBefore := loads.Load()

	var (
		goroutines atomic.Uint32
		misses     atomic.Int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := traceStart(goroutines.Add(1) - 1)
		var missed int64
		for pb.Next() {
			if _, ok := c.Get(w.Trace[i]); !ok {
				missed++
			}
			i = (i + 1) & (TraceLen - 1)
		}
		misses.Add(missed)
	})
	b.StopTimer()
	missed := misses.Load() + loads.Load() - loadsBefore
	b.ReportMetric(1-float64(missed)/float64(b.N), "hit-ratio")
}

// countLoads returns a LoadFunc that counts its calls in n and then calls load.
func countLoads(n *atomic.Int64, load LoadFunc) LoadFunc {
	return func(ctx context.Context, key string) (*Value, error) {
		n.Add(1)
		return load(ctx, key)
	}
}

// waiter is implemented by caches that apply writes asynchronously.
type waiter interface {
	// Wait blocks until the writes made so far are visible to Get.
	Wait()
}

// populate loads every key of keys into c and checks the values.
func populate(c Cache, keys []string) error {
	ctx := context.Background()
	for _, k := range keys {
		v, err := c.GetOrLoad(ctx, k)
		if err := checkValue(k, v, err); err != nil {
			return err
		}
	}
	if w, ok := c.(waiter); ok {
		w.Wait()
	}
	return nil
}
