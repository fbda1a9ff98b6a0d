package keyedcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// Review 15: the 48-bit placement stamps of the LRU order (32a6ab9), which
// let a drain skip recorded hits on the most recently placed quarter.
//
// PASSING GUARDS: the node keeps 32 bytes and SetStamp writes only its last
// six (NodeStampLayout); the boundaries of the tick: a stamp of exactly
// MaxStamp, the restamp from a hit on the back entry, from an exact hit
// and from a recorded one, with an empty order, and from a store into a
// full cache (RestampBoundaries); drains of several records, duplicates
// included, crossing restamps, against a model of the guaranteed rule
// (DrainBatchesAgainstModel); exact hits, Sets and Deletes against
// golang-lru's simplelru, evictions included, across many restamps
// (ExactMatchesSimpleLRU); a skipped hit writes neither the stamp nor the
// tick (SkippedHitWritesNothing); born-expired values, unbounded caches and
// TinyLFU never stamp (NoStampOutsideLRU); restamps while hits overlap,
// under -race (ConcurrentRestamp).

// r15Stamp returns k's stamp and the tick, under mu.
func r15Stamp(t *testing.T, c *KeyedCache[int, int], k int) (stamp, tick uint64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.tab.lookup(c.hash(k), k)
	if e == nil || !live(e.st.Load()) {
		t.Fatalf("key %d has no live entry", k)
	}
	return e.tn.Stamp(), c.rec.tick
}

// TestReview15NodeStampLayout: the node stays 32 bytes; Stamp/SetStamp
// round-trip every 48-bit value; SetStamp writes only the bytes of stampHi
// and sat, never Hash nor the queue and sampled bytes a Policy uses.
func TestReview15NodeStampLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit layout")
	}
	if got := unsafe.Sizeof(tinylfu.Node{}); got != 32 {
		t.Fatalf("Sizeof(Node) = %d, want 32", got)
	}
	var n tinylfu.Node
	n.Hash = 0x0123456789abcdef
	b := (*[32]byte)(unsafe.Pointer(&n))
	b[24], b[25] = 0xa5, 0x5a // queue, sampled
	r := rand.New(rand.NewPCG(15, 15))
	vals := []uint64{0, 1, 1<<32 - 1, 1 << 32, 1<<32 + 1, 1<<47 + 12345, tinylfu.MaxStamp - 1, tinylfu.MaxStamp}
	for range 1000 {
		vals = append(vals, r.Uint64()&tinylfu.MaxStamp)
	}
	for _, v := range vals {
		n.SetStamp(v)
		if got := n.Stamp(); got != v {
			t.Fatalf("SetStamp(%#x): Stamp() = %#x", v, got)
		}
		if n.Hash != 0x0123456789abcdef || b[24] != 0xa5 || b[25] != 0x5a {
			t.Fatalf("SetStamp(%#x) wrote outside its bytes: Hash %#x, bytes 24,25 = %#x %#x", v, n.Hash, b[24], b[25])
		}
		var hi uint64
		for i := 26; i < 28; i++ {
			hi |= uint64(b[i]) << (8 * (i - 26))
		}
		var lo uint64
		for i := 28; i < 32; i++ {
			lo |= uint64(b[i]) << (8 * (i - 28))
		}
		if hi<<32|lo != v {
			t.Fatalf("SetStamp(%#x) keeps %#x in bytes 26..31", v, hi<<32|lo)
		}
	}
	if *(*[2]uintptr)(unsafe.Pointer(&n)) != [2]uintptr{} {
		t.Fatal("SetStamp wrote to the links")
	}
}

// TestReview15RestampBoundaries: the tick's edges, each followed by the
// stamp properties (checkStamps) and exact stamps where they are known.
func TestReview15RestampBoundaries(t *testing.T) {
	const max = 8 // near = 2
	ctx := context.Background()
	fill := func(t *testing.T) *KeyedCache[int, int] {
		c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
		for k := range max {
			c.Get(ctx, k)
		}
		return c
	}
	stamps := func(c *KeyedCache[int, int]) ([]int, []uint64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return stampOrder(c)
	}

	t.Run("LastStampIsKept", func(t *testing.T) {
		c := fill(t)
		raiseTick(c, tinylfu.MaxStamp-1)
		c.Get(ctx, max) // a miss: evicts 0, stamped MaxStamp
		if s, tick := r15Stamp(t, c, max); s != tinylfu.MaxStamp || tick != tinylfu.MaxStamp {
			t.Fatalf("stamp %#x, tick %#x; want both MaxStamp", s, tick)
		}
		checkStamps(t, c, "at MaxStamp")
		// A recorded hit on the oldest (1, with 7 behind): applied, and
		// its placement restamps.
		c.stripes.concurrent.Store(true)
		c.record(0, 0, r13Entry(t, c, 1))
		if got, want := c.Keys(), []int{2, 3, 4, 5, 6, 7, 8, 1}; !slices.Equal(got, want) {
			t.Fatalf("Keys() = %v, want %v", got, want)
		}
		keys, st := stamps(c)
		if want := []uint64{2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(st, want) {
			t.Fatalf("after the restamp: %v %v, want stamps %v", keys, st, want)
		}
		if tick := tickOf(c); tick != 9 {
			t.Fatalf("tick %d, want 9", tick)
		}
		checkStamps(t, c, "after the restamp")
	})

	t.Run("HitOnBack", func(t *testing.T) {
		c := fill(t)
		raiseTick(c, tinylfu.MaxStamp)
		c.Get(ctx, max-1) // exact hit on the back entry: MoveToBack does nothing
		keys, st := stamps(c)
		if want := []uint64{1, 2, 3, 4, 5, 6, 7, 9}; !slices.Equal(st, want) || !slices.Equal(keys, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("%v %v, want stamps %v", keys, st, want)
		}
		checkStamps(t, c, "after")
	})

	t.Run("ExactHitOnFront", func(t *testing.T) {
		c := fill(t)
		raiseTick(c, tinylfu.MaxStamp)
		c.Get(ctx, 0)
		keys, st := stamps(c)
		if !slices.Equal(keys, []int{1, 2, 3, 4, 5, 6, 7, 0}) || !slices.Equal(st, []uint64{2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("%v %v", keys, st)
		}
		checkStamps(t, c, "after")
	})

	t.Run("EmptyOrder", func(t *testing.T) {
		c := fill(t)
		for k := range max {
			c.Delete(k)
		}
		raiseTick(c, tinylfu.MaxStamp)
		c.Get(ctx, 100)
		if s, tick := r15Stamp(t, c, 100); s != 1 || tick != 1 {
			t.Fatalf("stamp %d, tick %d after a restamp of the empty order; want 1, 1", s, tick)
		}
		c.Set(101, 101)
		checkStamps(t, c, "after")
		if s, tick := r15Stamp(t, c, 101); s != 2 || tick != 2 {
			t.Fatalf("stamp %d, tick %d; want 2, 2", s, tick)
		}
	})

	t.Run("StoreIntoFull", func(t *testing.T) {
		c := fill(t)
		raiseTick(c, tinylfu.MaxStamp)
		if err := c.Set(50, 50); err != nil { // evicts 0 first, then restamps 1..7
			t.Fatal(err)
		}
		keys, st := stamps(c)
		if !slices.Equal(keys, []int{1, 2, 3, 4, 5, 6, 7, 50}) || !slices.Equal(st, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("%v %v", keys, st)
		}
		// Set of an existing key at MaxStamp: the old entry leaves first.
		raiseTick(c, tinylfu.MaxStamp)
		c.Set(1, -1)
		keys, st = stamps(c)
		if !slices.Equal(keys, []int{2, 3, 4, 5, 6, 7, 50, 1}) || !slices.Equal(st, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("%v %v", keys, st)
		}
		checkStamps(t, c, "after")
	})
}

// r15Outcomes returns every order that applying recs to order can give
// under the guaranteed rule: a record on an entry with at least near
// entries behind it moves it to the back; any other either moves it or
// leaves the order as it is.
func r15Outcomes(order []int, recs []int, near int) map[string]bool {
	out := map[string]bool{}
	var walk func(order []int, recs []int)
	walk = func(order []int, recs []int) {
		if len(recs) == 0 {
			out[fmt.Sprint(order)] = true
			return
		}
		k := recs[0]
		i := slices.Index(order, k)
		if i < 0 { // not stored: no effect
			walk(order, recs[1:])
			return
		}
		moved := slices.Concat(order[:i], order[i+1:], []int{k})
		walk(moved, recs[1:])
		if len(order)-1-i < near {
			walk(order, recs[1:])
		}
	}
	walk(slices.Clone(order), recs)
	return out
}

// TestReview15DrainBatchesAgainstModel: drains of several records at once
// (one stripe, so in the order recorded; duplicates included), with the
// tick raised near MaxStamp again and again so that restamps fall inside
// drains, for bounds whose near is 0 to 16, and caches far from full:
// every outcome must be one the guaranteed rule allows, and the stamps
// keep their properties.
func TestReview15DrainBatchesAgainstModel(t *testing.T) {
	ctx := context.Background()
	for _, max := range []int{1, 3, 4, 8, 9, 16, 64} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(max), 1515))
			c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
			near := max / 4
			var model []int
			touch := func(k int) { model = lruTouch(model, k, max) }
			keys := 2*max + 2
			restamps := 0
			for step := range 4000 {
				if r.IntN(50) == 0 {
					raiseTick(c, tinylfu.MaxStamp-uint64(r.IntN(4)))
				}
				before := tickOf(c)
				k := r.IntN(keys)
				c.stripes.concurrent.Store(false)
				switch op := r.IntN(10); {
				case op < 3:
					c.Get(ctx, k)
					touch(k)
				case op < 4:
					c.Set(k, k)
					touch(k)
				case op < 5:
					c.Delete(k)
					model = lruForget(model, k)
				default:
					if len(model) == 0 {
						continue
					}
					n := 1 + r.IntN(6)
					var recs []int
					for range n {
						if len(recs) > 0 && r.IntN(3) == 0 {
							recs = append(recs, recs[r.IntN(len(recs))])
						} else {
							recs = append(recs, model[r.IntN(len(model))])
						}
					}
					c.stripes.concurrent.Store(true)
					for _, k := range recs {
						c.record(0, 0, r13Entry(t, c, k))
					}
					got := c.Keys()
					ok := r15Outcomes(model, recs, near)
					if !ok[fmt.Sprint(got)] {
						var want []string
						for o := range ok {
							want = append(want, o)
						}
						slices.Sort(want)
						t.Fatalf("step %d: records %v on %v (near %d): Keys() = %v, want one of %s", step, recs, model, near, got, strings.Join(want, " "))
					}
					model = got
				}
				if got := c.Keys(); !slices.Equal(got, model) {
					t.Fatalf("step %d: Keys() = %v, want %v", step, got, model)
				}
				if after := tickOf(c); after < before {
					restamps++
				}
				checkStamps(t, c, fmt.Sprintf("step %d", step))
			}
			if restamps < 10 {
				t.Errorf("only %d restamps", restamps)
			}
		})
	}
}

// TestReview15ExactMatchesSimpleLRU: without overlapping hits, Get, Set
// and Delete keep exactly golang-lru's simplelru order and evict what it
// evicts, across many restamps.
func TestReview15ExactMatchesSimpleLRU(t *testing.T) {
	ctx := context.Background()
	for _, max := range []int{1, 2, 5, 8, 17} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(max), 99))
			var gotEv, wantEv []int
			c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
				MaxEntries: max,
				OnEvict: func(k, _ int, why Reason) {
					if why == Evicted {
						gotEv = append(gotEv, k)
					}
				},
			})
			removing := false // simplelru calls its callback on Remove too
			m, err := simplelru.NewLRU[int, int](max, func(k, _ int) {
				if !removing {
					wantEv = append(wantEv, k)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			for step := range 5000 {
				if r.IntN(40) == 0 {
					raiseTick(c, tinylfu.MaxStamp-uint64(r.IntN(3)))
				}
				k := r.IntN(3 * max)
				switch op := r.IntN(6); {
				case op < 3:
					c.Get(ctx, k)
					if _, ok := m.Get(k); !ok {
						m.Add(k, k)
					}
				case op < 5:
					c.Set(k, k)
					m.Add(k, k)
				default:
					c.Delete(k)
					removing = true
					m.Remove(k)
					removing = false
				}
				if got, want := c.Keys(), m.Keys(); !slices.Equal(got, want) {
					t.Fatalf("step %d: Keys() = %v, simplelru %v", step, got, want)
				}
				if !slices.Equal(gotEv, wantEv) {
					t.Fatalf("step %d: evicted %v, simplelru %v", step, gotEv, wantEv)
				}
				checkStamps(t, c, fmt.Sprintf("step %d", step))
			}
		})
	}
}

// TestReview15SkippedHitWritesNothing: a skipped record changes neither
// the entry's stamp nor the tick nor the order; an applied one ticks once.
func TestReview15SkippedHitWritesNothing(t *testing.T) {
	const max = 16 // near = 4
	ctx := context.Background()
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
	for k := range max {
		c.Get(ctx, k)
	}
	c.stripes.concurrent.Store(true)
	for _, k := range []int{12, 13, 14, 15} { // 3, 2, 1, 0 behind
		s0, t0 := r15Stamp(t, c, k)
		c.record(0, 0, r13Entry(t, c, k))
		c.Keys()
		s1, t1 := r15Stamp(t, c, k)
		if s1 != s0 || t1 != t0 {
			t.Errorf("skipped record on %d: stamp %d -> %d, tick %d -> %d", k, s0, s1, t0, t1)
		}
	}
	_, t0 := r15Stamp(t, c, 11) // 4 behind: applied
	c.record(0, 0, r13Entry(t, c, 11))
	c.Keys()
	if s, t1 := r15Stamp(t, c, 11); t1 != t0+1 || s != t1 {
		t.Errorf("applied record on 11: stamp %d, tick %d -> %d", s, t0, t1)
	}
	if got := c.Keys(); got[max-1] != 11 {
		t.Errorf("Keys() = %v: 11 not moved", got)
	}
}

// TestReview15NoStampOutsideLRU: born-expired values take no place and no
// tick; an unbounded cache never ticks; TinyLFU's nodes never carry high
// stamp bits.
func TestReview15NoStampOutsideLRU(t *testing.T) {
	ctx := context.Background()
	t.Run("BornExpired", func(t *testing.T) {
		c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
			MaxEntries:  4,
			ExpireAfter: func(k, _ int) time.Duration { return time.Duration(k%2) * time.Hour },
		})
		for k := 1; k < 8; k += 2 {
			c.Get(ctx, k)
		}
		before := tickOf(c)
		for k := 0; k < 20; k += 2 {
			c.Get(ctx, k)
			c.Set(k, k)
		}
		if after := tickOf(c); after != before {
			t.Errorf("born-expired values ticked: %d -> %d", before, after)
		}
		if got := c.Keys(); !slices.Equal(got, []int{1, 3, 5, 7}) {
			t.Errorf("Keys() = %v", got)
		}
		checkStamps(t, c, "after")
	})
	t.Run("Unbounded", func(t *testing.T) {
		c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, nil)
		for k := range 100 {
			c.Get(ctx, k%37)
			c.Set(k%41, k)
		}
		if tick := tickOf(c); tick != 0 {
			t.Errorf("unbounded cache ticked: %d", tick)
		}
	})
	t.Run("TinyLFU", func(t *testing.T) {
		c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 32, Policy: TinyLFU})
		r := rand.New(rand.NewPCG(7, 7))
		for range 20000 {
			k := r.IntN(100)
			c.stripes.concurrent.Store(r.IntN(2) == 0)
			c.Get(ctx, k)
			if e := c.tab.lookup(c.hash(k), k); e != nil && live(e.st.Load()) && r.IntN(3) == 0 {
				c.stripes.concurrent.Store(true)
				c.record(0, 0, e)
			}
		}
		// The node's stamp bits above sat are the policy's own under
		// TinyLFU (tinylfu.Policy.AccessLate): stampLocked, the only
		// writer of the cache's stamps, would have ticked.
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.rec.tick != 0 || c.order.Len() != 0 {
			t.Errorf("TinyLFU: tick %d, order length %d", c.rec.tick, c.order.Len())
		}
	})
}

// TestReview15ConcurrentRestamp: overlapping hits, stores, deletes and
// drains while the tick is pushed to MaxStamp again and again: the stamps
// keep their properties and the bound holds. Meant for -race too.
func TestReview15ConcurrentRestamp(t *testing.T) {
	const max = 64
	ctx := context.Background()
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := r.IntN(2 * max)
				switch {
				case g == 0 && i%7 == 0:
					c.Set(k, k)
				case g == 1 && i%11 == 0:
					c.Delete(k)
				case g == 2 && i%13 == 0:
					c.Keys()
				default:
					if v, err := c.Get(ctx, k); err != nil || v != k {
						t.Errorf("Get(%d) = %d, %v", k, v, err)
						return
					}
				}
			}
		}()
	}
	deadline := time.Now().Add(time.Second)
	restamps := 0
	for time.Now().Before(deadline) {
		raiseTick(c, tinylfu.MaxStamp-3)
		time.Sleep(time.Millisecond)
		if tickOf(c) < tinylfu.MaxStamp-3 {
			restamps++
		}
		checkStamps(t, c, "while running")
		if t.Failed() {
			break
		}
	}
	close(stop)
	wg.Wait()
	c.Keys()
	checkStamps(t, c, "at the end")
	if n := c.Len(); n > max {
		t.Errorf("Len() = %d > %d", n, max)
	}
	if restamps == 0 {
		t.Errorf("no restamp")
	}
}
