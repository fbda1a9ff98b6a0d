package keyedcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// Tests of the stamps that let a drain skip recorded hits on the most
// recently placed quarter of an LRU bound (lru.go, recency.tick), from
// review 14's tests of the first, 32-bit version of them.

// stampOrder returns the keys of c.order front to back, with their stamps.
func stampOrder[V any](c *KeyedCache[int, V]) (keys []int, stamps []uint64) {
	for n := c.order.Front(); n != nil; n = c.order.Next(n) {
		e := entryOf[int, V](n)
		keys = append(keys, e.key)
		stamps = append(stamps, e.tn.Stamp())
	}
	return keys, stamps
}

// raiseTick raises the tick to at least v (raising it keeps the stamps'
// properties: ages only grow).
func raiseTick[V any](c *KeyedCache[int, V], v uint64) {
	c.mu.Lock()
	if c.rec.tick < v {
		c.rec.tick = v
	}
	c.mu.Unlock()
}

// tickOf returns the tick, read under mu.
func tickOf[V any](c *KeyedCache[int, V]) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.tick
}

// checkStamps checks, under mu, that the stamps grow along the LRU order
// (every placement at the back stamps a new tick) and that each entry's age
// in ticks is at least the number of entries behind it: the property that
// makes skipping a hit on an entry younger than near ticks safe.
func checkStamps[V any](t *testing.T, c *KeyedCache[int, V], where string) {
	t.Helper()
	c.mu.Lock()
	keys, stamps := stampOrder(c)
	tick := c.rec.tick
	c.mu.Unlock()
	for i := range keys {
		if i > 0 && stamps[i] <= stamps[i-1] {
			t.Fatalf("%s: stamps not increasing along the order: %v %v (tick %d)", where, keys, stamps, tick)
		}
		if behind := uint64(len(keys) - 1 - i); tick < stamps[i] || tick-stamps[i] < behind {
			t.Fatalf("%s: key %d has %d entries behind it but is %d ticks old: %v %v (tick %d)", where, keys[i], behind, tick-stamps[i], keys, stamps, tick)
		}
	}
}

// TestStampRestampKeepsOldestHit: the least recently used entry of a full
// cache, which no miss pushes out while hits move the others past it,
// keeps a stamp that says so when the tick passes the 48 bits of a stamp:
// the order is numbered afresh, and a recorded hit on that entry is
// applied, so the next miss evicts the entry that exact LRU evicts. (With
// 32-bit stamps that wrapped, the hit looked recent and was skipped.) The
// tick is advanced by hand to just below the last stamp.
func TestStampRestampKeepsOldestHit(t *testing.T) {
	const n = 8 // near = 2
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: n})
	ctx := context.Background()
	for k := range n {
		c.Get(ctx, k)
	}
	for k := 1; k < n; k++ {
		c.Get(ctx, k) // exact hits: 0 is the least recently used
	}
	raiseTick(c, tinylfu.MaxStamp-3)
	for k := 1; k < n; k++ {
		c.Get(ctx, k) // the fourth restamps the order
		checkStamps(t, c, fmt.Sprintf("after the hit on %d", k))
	}
	tick := tickOf(c)
	if tick >= tinylfu.MaxStamp-3 {
		t.Fatalf("tick = %d: the order was not restamped", tick)
	}
	if got, want := c.Keys(), []int{0, 1, 2, 3, 4, 5, 6, 7}; !slices.Equal(got, want) {
		t.Fatalf("Keys() = %v, want %v", got, want)
	}
	c.stripes.concurrent.Store(true)  // hits overlap
	c.record(0, 0, r13Entry(t, c, 0)) // a recorded hit on the least recently used
	if got, want := c.Keys(), []int{1, 2, 3, 4, 5, 6, 7, 0}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v: the recorded hit on 0, the oldest, was skipped", got, want)
	}
	c.Get(ctx, n) // a miss evicts the least recently used: 1, not 0
	if _, ok := c.Peek(0); !ok {
		t.Errorf("key 0, hit after every other key, was evicted; Keys() = %v", c.Keys())
	}
}

// TestStampRecordedHitRule: random operations on an LRU cache whose tick
// starts near the last stamp (so that a restamp within the test is
// covered), with
// every MaxEntries from 1 to 12 and a few larger ones; a model LRU follows
// each exact operation (misses, exact hits, Set of new and existing keys,
// Delete), and a recorded hit, drained alone, must move its entry to the
// back whenever at least MaxEntries/4 entries were behind it (with
// MaxEntries < 8, always), and otherwise either move it or change nothing.
// The stamps must grow along the order throughout.
func TestStampRecordedHitRule(t *testing.T) {
	for _, max := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 33} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(max), 14))
			c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
			c.rec.tick = tinylfu.MaxStamp - 40
			near := max / 4
			ctx := context.Background()
			var model []int
			touch := func(k int) { model = lruTouch(model, k, max) }
			keys := 2 * max
			for step := range 3000 {
				k := r.IntN(keys)
				op := r.IntN(10)
				c.stripes.concurrent.Store(false)
				switch {
				case op < 4: // Get: a miss or an exact hit
					c.Get(ctx, k)
					touch(k)
				case op < 5:
					c.Set(k, k)
					touch(k)
				case op < 6:
					c.Delete(k)
					model = lruForget(model, k)
				default: // a recorded hit on a stored key, drained alone
					if len(model) == 0 {
						continue
					}
					k = model[r.IntN(len(model))]
					i := slices.Index(model, k)
					behind := len(model) - 1 - i
					c.stripes.concurrent.Store(true)
					c.record(uint32(r.IntN(len(c.stripes.s))), 0, r13Entry(t, c, k))
					got := c.Keys()
					moved := slices.Concat(model[:i], model[i+1:], []int{k})
					switch {
					case slices.Equal(got, moved):
						model = moved
					case behind >= near:
						t.Fatalf("step %d: recorded hit on %d with %d entries behind (near %d) not applied: Keys() = %v, want %v", step, k, behind, near, got, moved)
					case !slices.Equal(got, model):
						t.Fatalf("step %d: recorded hit on %d: Keys() = %v, want %v or %v", step, k, got, moved, model)
					}
				}
				if got := c.Keys(); !slices.Equal(got, model) {
					t.Fatalf("step %d (op %d, key %d): Keys() = %v, want %v", step, op, k, got, model)
				}
				checkStamps(t, c, fmt.Sprintf("step %d", step))
			}
			tick := tickOf(c)
			if tick >= tinylfu.MaxStamp-40 {
				t.Fatalf("tick %d: the order was not restamped during the test", tick)
			}
		})
	}
}

// TestStampRefreshAndExpiry: stores by a refresh, Set of an
// existing key, loads after expiry and the bound's evictions all stamp
// their placements: the stamps grow along the LRU order, and every entry is
// at least as many ticks old as it has entries behind it, at every step of
// random operations with TTL and RefreshAfter.
func TestStampRefreshAndExpiry(t *testing.T) {
	for _, max := range []int{4, 8, 13} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(max), 41))
				var gen atomic.Int64
				c := newCache(t, func(_ context.Context, k int) (int, error) { return int(gen.Add(1)), nil }, &Options[int, int]{
					MaxEntries: max, TTL: 5 * time.Second, RefreshAfter: time.Second,
				})
				c.rec.tick = tinylfu.MaxStamp - 20
				ctx := context.Background()
				for step := range 2000 {
					k := r.IntN(2 * max)
					c.stripes.concurrent.Store(r.IntN(2) == 0)
					switch op := r.IntN(8); {
					case op < 4:
						c.Get(ctx, k)
					case op < 5:
						c.Set(k, -k)
					case op < 6:
						c.Delete(k)
					case op < 7:
						time.Sleep(time.Duration(r.IntN(700)) * time.Millisecond)
					default:
						if e := c.tab.lookup(c.hash(k), k); e != nil && live(e.st.Load()) {
							c.record(0, 0, e)
						}
					}
					synctest.Wait() // refreshes store their values
					c.Keys()        // drains
					checkStamps(t, c, fmt.Sprintf("step %d", step))
				}
				if s := c.Stats(); s.Refreshes == 0 {
					t.Errorf("no refresh ran: %+v", s)
				}
			})
		})
	}
}

// TestStampNoneUnderTinyLFU: a TinyLFU cache never ticks nor stamps (the
// stamp field is the policy's own sat), whatever hits are recorded.
func TestStampNoneUnderTinyLFU(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 16, Policy: TinyLFU})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		k := r.IntN(40)
		c.stripes.concurrent.Store(r.IntN(2) == 0)
		c.Get(ctx, k)
		if e := c.tab.lookup(c.hash(k), k); e != nil && live(e.st.Load()) && r.IntN(2) == 0 {
			c.stripes.concurrent.Store(true)
			c.record(0, 0, e)
		}
		if r.IntN(10) == 0 {
			c.Set(k, k)
		}
	}
	c.Keys()
	tick := tickOf(c)
	if tick != 0 {
		t.Errorf("tick = %d under TinyLFU, want 0", tick)
	}
}

// TestDrainUnderTinyLFULeavesRecentProtected: under TinyLFU a drained
// record goes through tinylfu.Policy.AccessLate, an exact hit through
// Access. MaxEntries 100 gives a policy without sims (no key is sampled but
// with odds of 2^-24), a window of one, a protected queue of 79 and near
// 19. Of 61 keys hit in turn until their counters saturate, the last stays
// in the window and the others are protected; nothing is evicted, so no
// contest is followed.
func TestDrainUnderTinyLFULeavesRecentProtected(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 100, Policy: TinyLFU})
	ctx := context.Background()
	for range 20 {
		for k := range 61 {
			c.Get(ctx, k)
		}
	}
	recorded := func(k int) {
		t.Helper()
		e := c.tab.lookup(c.hash(k), k)
		if e == nil || !live(e.st.Load()) {
			t.Fatalf("key %d not stored", k)
		}
		c.stripes.concurrent.Store(true)
		c.record(0, 0, e)
		c.stripes.concurrent.Store(false)
	}
	order := func(protected ...int) []int { return append([]int{60}, protected...) }
	before := c.Keys()
	if !slices.Equal(before, order(seq(0, 60)...)) {
		t.Fatalf("Keys() = %v, want 60, then 0 to 59", before)
	}
	recorded(58) // placed 2 placements ago: left in place
	if got := c.Keys(); !slices.Equal(got, before) {
		t.Fatalf("a drained record on the key placed second to last moved it: Keys() = %v, want %v", got, before)
	}
	recorded(0) // placed 60 placements ago: moved
	want := order(append(seq(1, 60), 0)...)
	if got := c.Keys(); !slices.Equal(got, want) {
		t.Fatalf("a drained record on the key placed 60 placements ago: Keys() = %v, want %v", got, want)
	}
	c.Get(ctx, 59) // an exact hit on the key placed second to last: moved
	want = order(append(append(seq(1, 59), 0), 59)...)
	if got := c.Keys(); !slices.Equal(got, want) {
		t.Fatalf("an exact hit on the key placed second to last: Keys() = %v, want %v", got, want)
	}
}

// seq returns the ints from lo up to hi, hi excluded.
func seq(lo, hi int) []int {
	s := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}
