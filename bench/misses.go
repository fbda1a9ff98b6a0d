package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// MissEntries returns the numbers of live entries [Misses] is run with.
func MissEntries() []int { return []int{1e3, 1e4, 1e5, 1e6} }

// MissImpls returns the caches [Misses] compares: keyedcache, golang-lru
// and otter, each bounded or not. Unbounded, golang-lru, which needs a
// bound, gets one that no benchmark reaches.
func MissImpls(bounded bool) []Impl {
	var out []Impl
	for _, im := range Impls() {
		switch im.Name {
		case "keyedcache-bounded", "lru", "otter":
			if !bounded {
				im = unbounded(im)
			}
			out = append(out, im)
		}
	}
	return out
}

// missChunk is how many keys never requested Misses builds at a time, with
// the timer stopped.
const missChunk = 4096

// Misses measures the cost of a miss in a cache that holds entries live
// values: each operation is a [Cache.GetOrLoad] of a key never requested
// before, which builds and adds its value. A bounded cache holds at most
// entries values, so every miss also evicts one. An unbounded one grows
// with every miss, so it is filled afresh, with the timer stopped, after
// entries/2 misses: it always holds between entries and 1.5 times as many
// values. Each miss is timed on its own (ns/op includes those two clock
// reads), and the "max-ns/miss" metric is the slowest: it shows the pauses
// that an average hides, such as a hash table growing all at once.
func Misses(b *testing.B, impl Impl, entries int) {
	misses(b, impl, entries, false)
}

// MissesGCOff is [Misses] with the garbage collector off while the misses
// are timed. It is on, and collects, while the cache is filled afresh. Its
// "max-ns/miss" is then the slowest miss that the cache's own work makes,
// without the collections that any allocating program meets: with the
// collector on, a miss that allocates may wait for the goroutine to be
// scheduled again after it started a collection or was preempted for one,
// for milliseconds on a loaded machine, whatever the cache. Its ns/op
// leaves out the cost of collecting what the misses allocate: Misses
// counts it.
func MissesGCOff(b *testing.B, impl Impl, entries int) {
	misses(b, impl, entries, true)
}

func misses(b *testing.B, impl Impl, entries int, gcOff bool) {
	var (
		c     Cache
		next  int // the index of the next key never requested from c
		fresh int // misses since c was filled
	)
	fill := func() {
		if c != nil {
			c.Close()
		}
		var err error
		if c, err = impl.New(entries, build); err != nil {
			b.Fatal(err)
		}
		keys := make([]string, entries)
		for i := range keys {
			keys[i] = Key(i)
		}
		if err := populate(c, keys); err != nil {
			b.Fatal(err)
		}
		next, fresh = entries, 0
	}
	fill()
	defer func() { c.Close() }()
	if gcOff {
		runtime.GC()
		gcPercent := debug.SetGCPercent(-1)
		defer debug.SetGCPercent(gcPercent)
		fillGCOn := fill
		fill = func() {
			debug.SetGCPercent(gcPercent)
			fillGCOn()
			runtime.GC()
			debug.SetGCPercent(-1)
		}
	}

	ctx := context.Background()
	keys := make([]string, missChunk)
	k := len(keys)
	var worst time.Duration
	b.ReportAllocs()
	for b.Loop() {
		if refill := !impl.Bounded && fresh >= entries/2; refill || k == len(keys) {
			b.StopTimer()
			if refill {
				fill()
			}
			for i := range keys {
				keys[i] = Key(next + i)
			}
			k = 0
			b.StartTimer()
		}
		key := keys[k]
		start := time.Now()
		v, err := c.GetOrLoad(ctx, key)
		if d := time.Since(start); d > worst {
			worst = d
		}
		if err := checkValue(key, v, err); err != nil {
			b.Fatal(err)
		}
		k++
		next++
		fresh++
	}
	b.ReportMetric(float64(worst.Nanoseconds()), "max-ns/miss")
}

// FormatCount formats a power of ten at least 10 as "1e3"; other numbers in
// decimal. Benchmark paths name entry counts with it.
func FormatCount(n int) string {
	e := 0
	for m := n; m >= 10 && m%10 == 0; m /= 10 {
		e++
	}
	if e > 0 && n == pow10(e) {
		return "1e" + strconv.Itoa(e)
	}
	return strconv.Itoa(n)
}

func pow10(e int) int {
	n := 1
	for range e {
		n *= 10
	}
	return n
}
