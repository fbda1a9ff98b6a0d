package keyedcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"
)

// r2Check verifies the cache's structures with the cache quiescent: the LRU
// order list is a well-formed doubly linked list of exactly the live
// entries, each of them in the table; the table holds no removed entry; and
// once drained, no ring holds an entry.
func r2Check[K comparable, V any](t *testing.T, c *KeyedCache[K, V]) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	for i := range c.stripes.s {
		s := &c.stripes.s[i]
		if s.ring == nil {
			continue
		}
		if h, tl := s.head.Load(), s.tail.Load(); h != tl {
			t.Errorf("stripe %d: ring not empty after a drain (head %d, tail %d)", i, h, tl)
		}
		for j := range s.ring {
			if e := s.ring[j].Load(); e != nil {
				t.Errorf("stripe %d slot %d still references the entry of %v (state %#x)", i, j, e.key, e.st.Load())
			}
		}
	}
	inTable := 0
	c.tab.rangeLocked(func(e *entry[K, V]) bool {
		if e.st.Load()&stRemoved != 0 {
			t.Errorf("table holds removed entry %v", e.key)
		}
		if live(e.st.Load()) {
			inTable++
		}
		return true
	})
	if inTable != c.live {
		t.Errorf("table holds %d live entries, c.live = %d", inTable, c.live)
	}
	if c.tiny != nil || c.rec.max == 0 {
		return
	}
	n := 0
	for node := c.order.Front(); node != nil; node = c.order.Next(node) {
		e := entryOf[K, V](node)
		if !live(e.st.Load()) {
			t.Errorf("order list holds %v, which is not live (state %#x)", e.key, e.st.Load())
		}
		if got := c.tab.lookup(e.hash(), e.key); got != e {
			t.Errorf("order list holds %v, which the table does not map to it", e.key)
		}
		if n++; n > c.order.Len()+1 {
			t.Fatalf("order list longer than its count %d (a cycle?)", c.order.Len())
		}
	}
	if n != c.order.Len() || n != c.live {
		t.Errorf("order list: %d entries walked, Len = %d, live = %d", n, c.order.Len(), c.live)
	}
	if c.live > c.rec.max {
		t.Errorf("live = %d > MaxEntries %d", c.live, c.rec.max)
	}
}

// r2Evicts counts OnEvict calls per value; values are unique per load.
type r2Evicts struct {
	mu   sync.Mutex
	seen map[int64]int
	why  map[Reason]int
}

func (r *r2Evicts) add(v int64, why Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[int64]int{}
		r.why = map[Reason]int{}
	}
	r.seen[v]++
	r.why[why]++
}

// ---------------------------------------------------------------------------
// Hits racing removals: the TryLock path and the rings

// TestReview2HitsRaceRemovals: hits (direct and through the rings) race
// Delete, Set, Clear, evictions and expiry. The order list must stay well
// formed, every stored value must get exactly one OnEvict (after Close),
// Hits+Misses must count every Get, and no removed value may stay
// referenced.
func TestReview2HitsRaceRemovals(t *testing.T) {
	N := 8000
	if testing.Short() {
		N = 3000
	}
	for _, procs := range []int{1, 2, 8} {
		for _, pol := range []Policy{LRU, TinyLFU} {
			for _, closeMidway := range []bool{false, true} {
				t.Run(fmt.Sprintf("procs=%d/%v/closeMidway=%v", procs, pol, closeMidway), func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					var next atomic.Int64
					var stored sync.Map // value -> weak pointer
					type box struct {
						v int64
						_ [64]byte
					}
					var ev r2Evicts
					c, err := New(func(_ context.Context, k int) (*box, error) {
						b := &box{v: next.Add(1)}
						stored.Store(b.v, weak.Make(b))
						return b, nil
					}, &Options[int, *box]{
						MaxEntries: 8, Policy: pol, TTL: 5 * time.Millisecond,
						OnEvict: func(_ int, b *box, why Reason) { ev.add(b.v, why) },
					})
					if err != nil {
						t.Fatal(err)
					}
					const G = 6
					var calls, sets atomic.Int64
					var seenStored sync.Map // values Peek found stored
					var wg sync.WaitGroup
					for g := range G {
						wg.Add(1)
						go func() {
							defer wg.Done()
							rng := rand.New(rand.NewPCG(uint64(g), uint64(procs)))
							ctx := context.Background()
							if g%2 == 1 {
								var cancel context.CancelFunc
								ctx, cancel = context.WithCancel(ctx)
								defer cancel()
							}
							for range N {
								k := rng.IntN(12)
								switch op := rng.IntN(100); {
								case op < 70:
									calls.Add(1)
									c.Get(ctx, k%4) // mostly hits
								case op < 80:
									calls.Add(1)
									_, rel, _ := c.Acquire(ctx, k)
									rel()
								case op < 88:
									calls.Add(1)
									c.Get(ctx, k)
								case op < 93:
									c.Delete(k)
								case op < 96:
									b := &box{v: next.Add(1)}
									stored.Store(b.v, weak.Make(b))
									if c.Set(k, b) == nil {
										sets.Add(1)
									}
								case op < 97:
									c.Clear()
								case op < 98:
									if b, ok := c.Peek(k); ok {
										seenStored.Store(b.v, true)
									}
								case op < 99:
									if g == 0 && closeMidway && rng.IntN(N/50) == 0 {
										c.Close()
									}
								default:
									c.Keys()
								}
							}
						}()
					}
					wg.Wait()
					r2Check(t, c)
					s := c.Stats()
					if !closeMidway && s.Hits+s.Misses != uint64(calls.Load()) {
						t.Errorf("Hits %d + Misses %d = %d, want %d Gets and Acquires", s.Hits, s.Misses, s.Hits+s.Misses, calls.Load())
					}
					c.Close()
					// Every value stored (a load that was not stale, or a Set)
					// left exactly once.
					ev.mu.Lock()
					for v, n := range ev.seen {
						if n != 1 {
							t.Errorf("value %d: %d OnEvict calls", v, n)
						}
					}
					total := 0
					for _, n := range ev.why {
						total += n
					}
					seenStored.Range(func(v, _ any) bool {
						if ev.seen[v.(int64)] == 0 {
							t.Errorf("value %d was stored (Peek found it) but got no OnEvict", v)
						}
						return true
					})
					ev.mu.Unlock()
					if want := int(s.Loads) + int(sets.Load()); total > want {
						t.Errorf("%d OnEvict calls for %d loads and Sets", total, want)
					}
					runtime.GC()
					runtime.GC()
					alive := 0
					stored.Range(func(_, w any) bool {
						if w.(weak.Pointer[box]).Value() != nil {
							alive++
						}
						return true
					})
					if alive != 0 {
						t.Errorf("%d values still reachable after Close", alive)
					}
				})
			}
		}
	}
}

// TestReview2CloseUnderHitsReleasesValues: "Removed means released: once a
// value has left and its OnEvict has run, the cache holds no reference to
// it." Close while other goroutines hit: once Close has returned and the
// hitters have stopped, no value may stay reachable from the cache (which
// itself stays reachable, as a long-lived cache would).
func TestReview2CloseUnderHitsReleasesValues(t *testing.T) {
	type box struct {
		_ [256]byte
	}
	leftover, inRings := 0, 0
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	for round := 0; round < rounds && leftover == 0; round++ {
		var ws []weak.Pointer[box]
		var mu sync.Mutex
		c, err := New(func(_ context.Context, k int) (*box, error) {
			b := new(box)
			mu.Lock()
			ws = append(ws, weak.Make(b))
			mu.Unlock()
			return b, nil
		}, &Options[int, *box]{MaxEntries: 64, OnEvict: func(int, *box, Reason) {}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for k := range 64 {
			c.Get(ctx, k)
		}
		// Eight goroutines hitting at once soon find the lock taken; set
		// the approximate mode now, so that every round exercises it.
		c.stripes.concurrent.Store(true)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					c.Get(ctx, (g*7+i)%64)
				}
			}()
		}
		time.Sleep(2 * time.Millisecond)
		c.Close()
		stop.Store(true)
		wg.Wait()
		runtime.GC()
		runtime.GC()
		for _, w := range ws {
			if w.Value() != nil {
				leftover++
			}
		}
		c.mu.Lock()
		for i := range c.stripes.s {
			for j := range c.stripes.s[i].ring {
				if c.stripes.s[i].ring[j].Load() != nil {
					inRings++
				}
			}
		}
		c.mu.Unlock()
		runtime.KeepAlive(c)
	}
	if leftover != 0 {
		t.Errorf("within %d rounds, %d values removed by Close are still reachable from the closed cache; its recency rings hold %d entries", rounds, leftover, inRings)
	}
}

// ---------------------------------------------------------------------------
// Exact LRU order, before and after a period of overlap

// r2LRU is a textbook LRU of keys, least recently used first.
type r2LRU struct {
	max  int
	keys []int
}

// use records a use of k and returns the key it evicts, or -1.
func (m *r2LRU) use(k int) int {
	if i := slices.Index(m.keys, k); i >= 0 {
		m.keys = slices.Delete(m.keys, i, i+1)
		m.keys = append(m.keys, k)
		return -1
	}
	out := -1
	if len(m.keys) == m.max {
		out, m.keys = m.keys[0], m.keys[1:]
	}
	m.keys = append(m.keys, k)
	return out
}

func (m *r2LRU) del(k int) bool {
	i := slices.Index(m.keys, k)
	if i < 0 {
		return false
	}
	m.keys = slices.Delete(m.keys, i, i+1)
	return true
}

// TestReview2LRUModelAcrossOverlap: one goroutine's Gets, Acquires, Sets,
// Deletes and Peeks follow a textbook LRU exactly (Keys and the evicted
// keys after every step), first from the start, then again once the cache
// is back in exact mode after a period of overlapping hits (the model is
// resynchronised with Keys when it is).
func TestReview2LRUModelAcrossOverlap(t *testing.T) {
	const max, space = 6, 10
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
	ctx := context.Background()
	m := &r2LRU{max: max}
	rng := rand.New(rand.NewPCG(7, 7))
	var held []func()
	var wantEv uint64
	phase := func(name string, steps int) {
		t.Helper()
		for step := range steps {
			k := rng.IntN(space)
			var desc string
			want := -1
			switch op := rng.IntN(20); {
			case op < 12:
				desc = fmt.Sprintf("Get(%d)", k)
				want = m.use(k)
				c.Get(ctx, k)
			case op < 14:
				desc = fmt.Sprintf("Acquire(%d)", k)
				want = m.use(k)
				_, rel, _ := c.Acquire(ctx, k)
				held = append(held, rel)
			case op < 15:
				desc = "release"
				if len(held) > 0 {
					held[0]()
					held = held[1:]
				}
			case op < 17:
				desc = fmt.Sprintf("Set(%d)", k)
				want = m.use(k)
				c.Set(k, k)
			case op < 18:
				desc = fmt.Sprintf("Delete(%d)", k)
				if got, w := c.Delete(k), m.del(k); got != w {
					t.Fatalf("%s step %d: Delete(%d) = %v, want %v", name, step, k, got, w)
				}
			default:
				desc = fmt.Sprintf("Peek(%d)", k)
				c.Peek(k)
			}
			// A leased value's OnEvict waits for its release: compare the
			// count of evictions, and Keys says which.
			ev := c.Stats().Evictions
			if want >= 0 {
				wantEv++
			}
			if ev != wantEv {
				t.Fatalf("%s step %d %s: Evictions %d, want %d (model evicts %d)", name, step, desc, ev, wantEv, want)
			}
			if got := c.Keys(); !slices.Equal(got, m.keys) {
				t.Fatalf("%s step %d %s: Keys = %v, want %v", name, step, desc, got, m.keys)
			}
		}
	}
	phase("before overlap", 3000)
	if c.stripes.concurrent.Load() {
		t.Fatal("one goroutine's calls switched the cache to the approximate mode")
	}
	// A period of overlap: a hit finds the lock taken.
	c.mu.Lock()
	done := make(chan struct{})
	go func() { defer close(done); c.Get(ctx, m.keys[0]) }()
	<-done
	c.mu.Unlock()
	if !c.stripes.concurrent.Load() {
		t.Fatal("a hit that found the lock taken did not switch to the approximate mode")
	}
	for i := 0; c.stripes.concurrent.Load(); i++ {
		if i > 1_000_000 {
			t.Fatal("hits of one goroutine did not bring back the exact mode")
		}
		c.Get(ctx, m.keys[i%len(m.keys)])
	}
	m.keys = c.Keys()
	wantEv = c.Stats().Evictions
	phase("after overlap", 3000)
	for _, rel := range held {
		rel()
	}
	r2Check(t, c)
}

// ---------------------------------------------------------------------------
// Removals made by a load's store: who runs their OnEvict, when, and how often

// TestReview2StoreRemovalsNotified: a load whose store evicts a value hands
// that OnEvict to exactly one Get that receives the value, before that Get
// returns and outside the cache's lock; whether the load ran inline, in a
// goroutine with the starter still waiting, or in a goroutine whose starter
// left while a joiner stayed. A load all of whose Gets left is not stored
// and evicts nothing.
func TestReview2StoreRemovalsNotified(t *testing.T) {
	for _, how := range []string{"inline", "goroutine", "starter left, joiner stayed", "inline with joiner", "all left"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				var c *KeyedCache[string, string]
				type call struct {
					key      string
					why      Reason
					gid      uint64
					lockHeld bool
				}
				var mu sync.Mutex
				var calls []call
				c = newCache(t, func(_ context.Context, k string) (string, error) {
					if k == "b" {
						<-gate
					}
					return k + "!", nil
				}, &Options[string, string]{MaxEntries: 1, OnEvict: func(k, _ string, why Reason) {
					held := !c.mu.TryLock()
					if !held {
						c.mu.Unlock()
					}
					mu.Lock()
					calls = append(calls, call{k, why, lcGoid(), held})
					mu.Unlock()
				}})
				c.Get(context.Background(), "a")
				type result struct {
					gid uint64
					n   int // OnEvict calls when its Get returned
					v   string
					err error
				}
				get := func(ctx context.Context, out chan<- result) {
					v, err := c.Get(ctx, "b")
					mu.Lock()
					n := len(calls)
					mu.Unlock()
					out <- result{lcGoid(), n, v, err}
				}
				starterCtx, cancelStarter := context.WithCancel(context.Background())
				defer cancelStarter()
				starter, joiner := make(chan result, 1), make(chan result, 1)
				switch how {
				case "inline", "inline with joiner":
					go get(context.Background(), starter)
				default:
					go get(starterCtx, starter)
				}
				synctest.Wait()
				if how != "inline" && how != "goroutine" {
					joinCtx, cancelJoin := context.WithCancel(context.Background())
					defer cancelJoin()
					go get(joinCtx, joiner)
					synctest.Wait()
					if how == "all left" {
						cancelJoin()
						synctest.Wait()
					}
				}
				if how == "starter left, joiner stayed" || how == "all left" {
					cancelStarter()
					synctest.Wait()
				}
				close(gate)
				synctest.Wait()
				mu.Lock()
				got := slices.Clone(calls)
				mu.Unlock()
				if how == "all left" {
					if len(got) != 0 {
						t.Errorf("OnEvict calls %+v for a load that nobody waited for", got)
					}
					if v, ok := c.Peek("a"); !ok || v != "a!" {
						t.Errorf("Peek(a) = %q, %v: an abandoned load evicted it", v, ok)
					}
					return
				}
				if len(got) != 1 || got[0].key != "a" || got[0].why != Evicted {
					t.Fatalf("OnEvict calls %+v, want one for a, Evicted", got)
				}
				if got[0].lockHeld {
					t.Errorf("OnEvict ran with the cache's lock held")
				}
				var receivers []result
				for _, ch := range []chan result{starter, joiner} {
					select {
					case r := <-ch:
						if r.err == nil {
							if r.v != "b!" {
								t.Errorf("Get(b) = %q", r.v)
							}
							receivers = append(receivers, r)
						}
					default:
					}
				}
				ran := false
				for _, r := range receivers {
					if r.gid == got[0].gid {
						ran = true
						if r.n != 1 {
							t.Errorf("the Get that ran OnEvict returned before it (%d calls when it returned)", r.n)
						}
					}
				}
				if !ran {
					t.Errorf("OnEvict ran in goroutine %d, not in a Get that received the value (%+v)", got[0].gid, receivers)
				}
			})
		})
	}
}

// TestReview2RefreshRemovalsNotified: a refresh whose store replaces the old
// value calls OnEvict(Replaced) exactly once: in its own goroutine when no
// Get joined it or the one that joined left, in the joined Get otherwise;
// and Close waits for it.
func TestReview2RefreshRemovalsNotified(t *testing.T) {
	for _, how := range []string{"unjoined", "joined", "joined then left"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				gate := make(chan struct{})
				var gated atomic.Bool
				var ev evictLog[string, string]
				c := newCache(t, func(_ context.Context, k string) (string, error) {
					if gated.Load() {
						<-gate
					}
					return fmt.Sprint(k, n.Add(1)), nil
				}, &Options[string, string]{TTL: 10 * time.Second, RefreshAfter: 5 * time.Second, OnEvict: ev.add})
				ctx := context.Background()
				c.Get(ctx, "k")
				time.Sleep(6 * time.Second)
				gated.Store(true)
				if v, _ := c.Get(ctx, "k"); v != "k1" {
					t.Fatalf("Get = %q, want the old value while it refreshes", v)
				}
				done := make(chan string, 1)
				jctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if how != "unjoined" {
					time.Sleep(5 * time.Second) // k1 expired: a Get joins the refresh
					go func() { v, _ := c.Get(jctx, "k"); done <- v }()
					synctest.Wait()
					if how == "joined then left" {
						cancel()
						synctest.Wait()
					}
				}
				close(gate)
				synctest.Wait()
				if how == "joined" {
					if v := <-done; v != "k2" {
						t.Errorf("joined Get = %q, want k2", v)
					}
				}
				c.Close()
				got := ev.take()
				want := []string{"k=k1:Replaced", "k=k2:Closed"}
				if how != "unjoined" {
					// k1 expired before the refresh stored k2: the Get that
					// joined swept it, or the refresh replaced it.
					if len(got) != 2 || (got[0] != "k=k1:Expired" && got[0] != "k=k1:Replaced") || got[1] != want[1] {
						t.Errorf("OnEvict calls %v, want k1 once then %v", got, want[1])
					}
					return
				}
				if !slices.Equal(got, want) {
					t.Errorf("OnEvict calls %v, want %v", got, want)
				}
			})
		})
	}
}

// ---------------------------------------------------------------------------
// Lists by offset: every shape of K and V

// r2Exercise runs a bounded cache with TTL, and one with ExpireAfter (the
// timer wheel), through stores, hits, evictions, expiry, Delete and Clear,
// for keys made by mk, checking the lists after each phase. Under -race,
// checkptr checks every unsafe.Add of list.at.
func r2Exercise[K comparable, V any](t *testing.T, mk func(int) K, val V) {
	t.Helper()
	for _, wheel := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var evicted atomic.Int64
			opts := &Options[K, V]{MaxEntries: 5, TTL: time.Minute, OnEvict: func(K, V, Reason) { evicted.Add(1) }}
			if wheel {
				opts.ExpireAfter = func(K, V) time.Duration { return time.Minute }
			}
			c := newCache(t, func(context.Context, K) (V, error) { return val, nil }, opts)
			ctx := context.Background()
			for i := range 20 {
				c.Get(ctx, mk(i%8))
				c.Get(ctx, mk(i%3))
			}
			r2Check(t, c)
			if n := c.Len(); n != 5 {
				t.Errorf("Len = %d, want 5", n)
			}
			keys := c.Keys()
			if len(keys) != 5 || keys[4] != mk(19%3) {
				t.Errorf("Keys = %v, want 5 keys ending with the last one used", keys)
			}
			c.Delete(mk(1))
			c.Set(mk(100), val)
			r2Check(t, c)
			time.Sleep(2 * time.Minute)
			c.Get(ctx, mk(7)) // sweeps every expired value
			r2Check(t, c)
			if n := c.Len(); n != 1 {
				t.Errorf("Len after expiry = %d, want 1", n)
			}
			c.Clear()
			r2Check(t, c)
			stored := c.Stats().Loads + 1 // and the Set
			if got := evicted.Load(); uint64(got) != stored {
				t.Errorf("%d OnEvict calls for %d stored values", got, stored)
			}
		})
	}
}

func TestReview2ListOffsetsForEveryShape(t *testing.T) {
	type empty struct{}
	type bigKey [1 << 12]byte
	type oddKey struct {
		a byte
		s string
		b byte
	}
	big := func(i int) bigKey { var k bigKey; k[0], k[len(k)-1] = byte(i), byte(i>>8); return k }
	t.Run("int/struct{}", func(t *testing.T) { r2Exercise(t, func(i int) int { return i }, struct{}{}) })
	t.Run("bigKey/[0]int", func(t *testing.T) { r2Exercise(t, big, [0]int{}) })
	t.Run("oddKey/bigValue", func(t *testing.T) {
		r2Exercise(t, func(i int) oddKey { return oddKey{byte(i), fmt.Sprint(i), 1} }, [1 << 10]int64{1: 1})
	})
	t.Run("byte/empty", func(t *testing.T) { r2Exercise(t, func(i int) uint8 { return uint8(i) }, empty{}) })
	t.Run("any/string", func(t *testing.T) { r2Exercise(t, func(i int) any { return i }, "v") })
	// A key of size zero: every key is the same key.
	c := newCache(t, func(context.Context, empty) (empty, error) { return empty{}, nil }, &Options[empty, empty]{MaxEntries: 1, TTL: time.Hour})
	for range 10 {
		c.Get(context.Background(), empty{})
	}
	r2Check(t, c)
	if s := c.Stats(); s.Loads != 1 || s.Hits != 9 {
		t.Errorf("zero-size key: %+v, want 1 load and 9 hits", s)
	}
}

// TestReview2HitAfterCloseKeepsNoReference is the interleaving behind
// TestReview2CloseUnderHitsReleasesValues, made deterministic: Gets (in the
// approximate mode) that found a value live, then Close, then the rest of
// those Gets (hit). Close has removed the value and run its OnEvict; the
// closed cache must not keep it referenced (nothing will ever drain its
// rings again).
func TestReview2HitAfterCloseKeepsNoReference(t *testing.T) {
	type box struct{ _ [64]byte }
	var w weak.Pointer[box]
	evicted := 0
	c := newCache(t, func(context.Context, int) (*box, error) {
		b := new(box)
		w = weak.Make(b)
		return b, nil
	}, &Options[int, *box]{MaxEntries: 4, OnEvict: func(int, *box, Reason) { evicted++ }})
	c.Get(context.Background(), 1)
	c.stripes.concurrent.Store(true) // hits have overlapped
	e := c.tab.lookup(c.hash(1), 1)  // Get's lock-free lookup: live
	if e == nil || !live(e.st.Load()) {
		t.Fatal("no live entry for 1")
	}
	c.Close()
	if evicted != 1 {
		t.Fatalf("Close ran %d OnEvict calls, want 1", evicted)
	}
	for range sampleEvery {
		c.hit(e) // the rest of those Gets, after Close
	}
	e = nil
	runtime.GC()
	runtime.GC()
	if w.Value() != nil {
		refs := 0
		for i := range c.stripes.s {
			for j := range c.stripes.s[i].ring {
				if c.stripes.s[i].ring[j].Load() != nil {
					refs++
				}
			}
		}
		t.Errorf("the value Close removed (and handed to OnEvict) is still reachable from the closed cache: %d ring slots reference entries", refs)
	}
	runtime.KeepAlive(c)
}
