package keyedcache

// Review 16: under TinyLFU a drained hit goes through
// tinylfu.Policy.AccessLate, which leaves in place a protected value placed
// fewer than near placements ago (internal/tinylfu/review16_test.go tests
// the policy's side). What it tried here:
//
//   - whether the cache's LRU stamps (stampLocked, restampLocked, the tick
//     check of applyLocked) can reach a node under TinyLFU, or the policy's
//     stampHi a node under LRU: no, c.tiny is fixed by New and every
//     stamping path of the cache is on the LRU side. A mutant that lets
//     applyLocked check the LRU tick under TinyLFU too survived the tests
//     of the change: a node with sat and stampHi 0 (a value on probation
//     whose counters are not saturated) then looks 0 ticks old and its
//     drained hit is dropped. TestReview16DrainedHitPromotesProbation
//     kills it.
//   - overlapping hits under TinyLFU with hot keys (protected, saturated,
//     so that AccessLate leaves many in place) mixed with misses, Set,
//     Delete, Clear and Keys, then Close: the policy holds exactly the
//     live values, within the bound, after every pause; Stats count every
//     Get; every value leaves at most once and none is reachable after
//     Close (TestReview16TinyLFUOverlapInvariants). r2Check checks none of
//     the policy's side under TinyLFU.
//   - the trace figures: TestTraceOLTP replays through the exact path only
//     (one goroutine never records), and its TinyLFU figures equal the
//     policy's replay with Access; unchanged.

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// TestReview16DrainedHitPromotesProbation: a drained record of a hit on a
// value on probation moves it to the protected segment, as an exact hit
// does. MaxEntries 100 under TinyLFU has a window of one: of keys 0, 1, 2
// asked for once each, 0 and 1 are on probation, 2 in the window.
func TestReview16DrainedHitPromotesProbation(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 100, Policy: TinyLFU})
	ctx := context.Background()
	for k := range 3 {
		c.Get(ctx, k)
	}
	if got := c.Keys(); !slices.Equal(got, []int{2, 0, 1}) {
		t.Fatalf("Keys() = %v, want [2 0 1]: 2 in the window, 0 and 1 on probation", got)
	}
	e := c.tab.lookup(c.hash(0), 0)
	c.stripes.concurrent.Store(true)
	c.record(0, 0, e)
	c.stripes.concurrent.Store(false)
	if got := c.Keys(); !slices.Equal(got, []int{2, 1, 0}) {
		t.Fatalf("after a drained hit on 0, Keys() = %v, want [2 1 0]: 0 protected", got)
	}
}

// r16CheckTiny checks, once the rings are drained, that the TinyLFU policy
// holds exactly the live values, each once and mapped to itself by the
// table, within the bound.
func r16CheckTiny[K comparable, V any](t *testing.T, c *KeyedCache[K, V]) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	seen := map[*entry[K, V]]bool{}
	c.tiny.Ascend(func(n *tinylfu.Node) bool {
		e := entryOf[K, V](n)
		if seen[e] {
			t.Errorf("the policy holds %v twice", e.key)
			return false
		}
		seen[e] = true
		if !live(e.st.Load()) {
			t.Errorf("the policy holds %v, which is not live (state %#x)", e.key, e.st.Load())
		}
		if got := c.tab.lookup(e.hash(), e.key); got != e {
			t.Errorf("the policy holds %v, which the table does not map to it", e.key)
		}
		return true
	})
	if len(seen) != c.live || c.tiny.Len() != c.live || c.live > c.rec.max {
		t.Errorf("the policy holds %d values (Len %d), live %d, MaxEntries %d", len(seen), c.tiny.Len(), c.live, c.rec.max)
	}
}

// TestReview16TinyLFUOverlapInvariants is a PASSING GUARD: eight
// goroutines hit a few hot keys of a TinyLFU cache (protected, their
// counters saturated: the hits AccessLate leaves in place) with hits
// overlapping, mixed with misses on colder keys (evictions), Set, Delete,
// Clear and Keys, pausing every few hundred calls to check the policy
// against the table. At the end Stats count every Get, and after Close
// every value left at most once and is unreachable.
func TestReview16TinyLFUOverlapInvariants(t *testing.T) {
	for _, procs := range []int{2, 64} {
		t.Run(fmt.Sprintf("procs%d", procs), func(t *testing.T) {
			var left r13Left
			const keys, max = 400, 120
			c, made := r13New(t, procs, max, TinyLFU, left.onEvict)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
			pauses, perPause := 40, 1000
			if raceEnabled {
				pauses, perPause = 10, 400
			}
			ops := r13Ops{keys: keys, hot: 40, hotOneIn: 8, del: 10, set: 20, clear: 21, clearPauses: 4, keysCalls: 10}
			gets := r13Overlap(t, c, made, ops, pauses, perPause, func(p int) {
				for _, err := range r13Invariant(c, false) {
					t.Errorf("pause %d: %s", p, err)
				}
				r16CheckTiny(t, c)
			})
			if t.Failed() {
				return
			}
			r2Check(t, c)
			s := c.Stats()
			if s.Hits+s.Misses != uint64(gets) || s.Entries != c.Len() || s.Entries > max {
				t.Errorf("Stats %+v: Hits + Misses != %d Gets, or Entries != Len %d", s, gets, c.Len())
			}
			if s.Hits < uint64(gets)/2 {
				t.Errorf("Stats %+v: fewer hits than the workload gives (%d Gets)", s, gets)
			}
			c.Close()
			left.check(t, made)
		})
	}
}
