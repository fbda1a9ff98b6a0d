package keyedcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"
)

// The hit-path benchmarks put keyedcache beside what users would write
// instead, on identical keys in the same run, so that their ratios can be
// compared with benchstat:
//
//	go test -run '^$' -bench 'Hit' -cpu 1,2 -count 6 ./keyedcache | tee new.txt
//
// Keys are 40-byte strings. workload=hot16 spreads hits evenly over 16 keys;
// workload=zipf8192 draws from 8192 keys with a Zipf distribution (s=1.01),
// from a fixed sequence that every implementation replays. Every cache is
// filled before the timer starts; bounded caches hold all keys.

type workload struct {
	name string
	keys []string
	seq  []int // indices into keys, replayed by every goroutine from its own offset
}

func benchKey(i int) string {
	return fmt.Sprintf("tenant-%05d/model=gpt-4o-mini/region=eu", i)
}

var workloads = sync.OnceValue(func() []workload {
	make := func(name string, n int, draw func(*rand.Rand) int) workload {
		w := workload{name: name, keys: make([]string, n), seq: make([]int, 1<<16)}
		for i := range w.keys {
			w.keys[i] = benchKey(i)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range w.seq {
			w.seq[i] = draw(r)
		}
		return w
	}
	return []workload{
		make("hot16", 16, func(r *rand.Rand) int { return r.IntN(16) }),
		make("zipf8192", 8192, func() func(*rand.Rand) int {
			var z *rand.Zipf
			return func(r *rand.Rand) int {
				if z == nil {
					z = rand.NewZipf(r, 1.01, 1, 8191)
				}
				return int(z.Uint64())
			}
		}()),
	}
})

type value struct{ n int }

// hitFunc looks key up in a filled cache and reports whether it was there.
type hitFunc func(key string) bool

// runHits replays w's sequence through get from every goroutine.
func runHits(b *testing.B, w workload, get hitFunc) {
	var offset atomic.Uint32
	var missed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(offset.Add(7919)) // a prime stride apart
		for pb.Next() {
			if !get(w.keys[w.seq[i&(len(w.seq)-1)]]) {
				missed.Add(1)
			}
			i++
		}
	})
	if m := missed.Load(); m > 0 {
		b.Fatalf("%d of %d lookups missed in a filled cache", m, b.N)
	}
}

func newBenchCache(b *testing.B, w workload, opts *Options[string, *value]) *KeyedCache[string, *value] {
	c, err := New(func(_ context.Context, k string) (*value, error) { return &value{len(k)}, nil }, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	for _, k := range w.keys {
		if _, err := c.Get(context.Background(), k); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	for _, w := range workloads() {
		bound := 2 * len(w.keys)
		b.Run("workload="+w.name+"/cache=sync.Map", func(b *testing.B) {
			var m sync.Map
			for _, k := range w.keys {
				m.Store(k, &value{len(k)})
			}
			runHits(b, w, func(k string) bool { _, ok := m.Load(k); return ok })
		})
		b.Run("workload="+w.name+"/cache=keyedcache", func(b *testing.B) {
			c := newBenchCache(b, w, nil)
			runHits(b, w, func(k string) bool { _, err := c.Get(ctx, k); return err == nil })
		})
		b.Run("workload="+w.name+"/cache=keyedcache-ttl", func(b *testing.B) {
			c := newBenchCache(b, w, &Options[string, *value]{TTL: 1 << 40})
			runHits(b, w, func(k string) bool { _, err := c.Get(ctx, k); return err == nil })
		})
		b.Run("workload="+w.name+"/cache=keyedcache-lru", func(b *testing.B) {
			c := newBenchCache(b, w, &Options[string, *value]{MaxEntries: bound})
			runHits(b, w, func(k string) bool { _, err := c.Get(ctx, k); return err == nil })
		})
		b.Run("workload="+w.name+"/cache=keyedcache-tinylfu", func(b *testing.B) {
			c := newBenchCache(b, w, &Options[string, *value]{MaxEntries: bound, Policy: TinyLFU})
			runHits(b, w, func(k string) bool { _, err := c.Get(ctx, k); return err == nil })
		})
		b.Run("workload="+w.name+"/cache=keyedcache-acquire", func(b *testing.B) {
			c := newBenchCache(b, w, nil)
			runHits(b, w, func(k string) bool {
				_, release, err := c.Acquire(ctx, k)
				release()
				return err == nil
			})
		})
		b.Run("workload="+w.name+"/cache=golang-lru", func(b *testing.B) {
			c, _ := lru.New[string, *value](bound)
			for _, k := range w.keys {
				c.Add(k, &value{len(k)})
			}
			runHits(b, w, func(k string) bool { _, ok := c.Get(k); return ok })
		})
	}
}

// BenchmarkMiss measures a miss that loads and, bounded, evicts: one
// goroutine, context.Background, keys never seen before.
func BenchmarkMiss(b *testing.B) {
	for _, o := range []struct {
		name string
		opts *Options[int, int]
	}{
		{"unbounded", nil},
		{"lru", &Options[int, int]{MaxEntries: 1000}},
		{"tinylfu", &Options[int, int]{MaxEntries: 1000, Policy: TinyLFU}},
	} {
		b.Run("cache="+o.name, func(b *testing.B) {
			c, err := New(func(_ context.Context, k int) (int, error) { return k, nil }, o.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				if o.opts == nil && k%100000 == 0 {
					c.Clear() // keep the unbounded table at a steady size
				}
				c.Get(ctx, k)
				k++
			}
		})
	}
}
