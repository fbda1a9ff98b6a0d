package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// HerdLoadTime is how long the loader of [Herd] takes.
const HerdLoadTime = 10 * time.Millisecond

// HerdGoroutines returns the herd sizes [Herd] is run with.
func HerdGoroutines() []int { return []int{8, 32} }

// Keys of Herd rounds start here, far from the keys of the other benchmarks.
const (
	herdKeyBase = 5_000_000
	herdBound   = 1024 // entries a bounded cache may hold in Herd
)

// Herd measures a thundering herd. Each of b.N rounds asks for a key no
// round asked for before: n goroutines are started, wait at a barrier, and
// are released together to call [Cache.GetOrLoad], whose loader takes
// HerdLoadTime. The "loads/op" metric is the number of loader calls per
// round: 1 for a cache that loads each key once, up to n for check-then-add.
func Herd(b *testing.B, impl Impl, n int) {
	var loads atomic.Int64
	c, err := impl.New(herdBound, countLoads(&loads, slowBuild))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for round := range b.N {
		if err := herdRound(ctx, c, n, Key(herdKeyBase+round)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(loads.Load())/float64(b.N), "loads/op")
}

// herdRound releases n goroutines together to get key from c, and waits for
// all of them.
func herdRound(ctx context.Context, c Cache, n int, key string) error {
	var (
		g     errgroup.Group
		ready sync.WaitGroup
	)
	start := make(chan struct{})
	ready.Add(n)
	for range n {
		g.Go(func() error {
			ready.Done()
			<-start
			v, err := c.GetOrLoad(ctx, key)
			return checkValue(key, v, err)
		})
	}
	ready.Wait()
	close(start)
	return g.Wait()
}

// slowBuild is the loader of Herd: it takes HerdLoadTime, or returns early
// with ctx's error.
func slowBuild(ctx context.Context, key string) (*Value, error) {
	t := time.NewTimer(HerdLoadTime)
	defer t.Stop()
	select {
	case <-t.C:
		return &Value{Key: key}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
