package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

// Review 12: the TinyLFU policy as the cache drives it (admitLocked,
// accessLocked, forgetLocked, the recency rings, hit), against the
// package's contract.
//
// Defects found, each with its test (all three fixed since):
//   - TestReview12TinyLFUHugeMaxEntries: New panicked (makeslice: len out
//     of range) for MaxEntries math.MaxInt or 2^50 with Policy TinyLFU;
//     New's contract is an error for an option out of range, and the same
//     MaxEntries works under LRU. (Between about 1<<33 and 1<<47 New died
//     with a fatal, unrecoverable out-of-memory instead.) New now refuses
//     TinyLFU above 2^30 entries.
//   - TestReview12TinyLFUKeysOrderWithinSegments: Keys was documented as
//     "the window, then the probation segment, then the protected
//     segment, each least recently used first"; a protected value demoted
//     to probation goes to probation's newest end, behind values used
//     after it. The documentation now gives probation's order as the order
//     in which values entered it, and the test checks the whole order.
//   - TestReview12DeleteOfAbsentKeyAppliesRecordedHits (white-box): the
//     doc says a value left in a ring of recorded hits after its eviction
//     stays there "until the cache next applies it, which every Delete,
//     Set, Clear, Close and Keys does"; Delete of a key with no stored
//     value applied nothing. The ring state is set by hand, as the race
//     it stands for (a hit that records itself between the store's drain
//     and its eviction) leaves it; black-box, 0 of 300 runs caught that
//     race. Delete now drains the rings whether it finds its key or not.
//
// PASSING GUARDS (what the existing tests do not cover): concurrent
// TinyLFU churn at GOMAXPROCS 2 with leases, Sets, Deletes, Clears,
// refreshes and OnEvict callbacks that re-enter the cache, watched by a
// goroutine that checks Len, Stats.Entries, Keys and All against
// MaxEntries at every point, with exact Stats (Hits+Misses, Loads,
// Evictions, Expirations) once quiescent and every value unreachable
// after Close; Close amid that churn, from a worker and from an
// OnEvict(Evicted); and, with no source of staleness, every loaded value
// leaving exactly once, at sizes 1 to 200 with refresh, TTL and
// ExpireAfter (born-expired values included).
//
// Also tried, and held: a bare tinylfu.Policy of 128 to 300 nodes driven
// with its window moved at random and its ghost rule toggled, invariants
// checked (window and protected within their sizes, links, Len); a
// newly stored value is never the one its own Add turns away (the
// candidate is always the window's previous oldest, so the doc's "a value
// that TinyLFU turns away is evicted at once" and Set's "or value itself"
// describe a path, storeLocked's !admitted, that cannot run).

// TestReview12TinyLFUHugeMaxEntries: New must return an error, or a
// usable cache, for any MaxEntries that validate accepts; it must not
// panic. LRU takes these bounds.
func TestReview12TinyLFUHugeMaxEntries(t *testing.T) {
	load := func(_ context.Context, k int) (int, error) { return k, nil }
	for _, n := range []int{math.MaxInt, math.MaxInt / 8192} { // 2^50 on 64-bit platforms
		lru, err := New(load, &Options[int, int]{MaxEntries: n})
		if err != nil {
			t.Fatalf("LRU, MaxEntries %d: %v", n, err)
		}
		if v, err := lru.Get(context.Background(), 1); err != nil || v != 1 {
			t.Fatalf("LRU, MaxEntries %d: Get = %d, %v", n, v, err)
		}
		lru.Close()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("TinyLFU, MaxEntries %d: New panicked: %v", n, r)
				}
			}()
			c, err := New(load, &Options[int, int]{MaxEntries: n, Policy: TinyLFU})
			if err != nil {
				return // refused: fine
			}
			defer c.Close()
			if v, err := c.Get(context.Background(), 1); err != nil || v != 1 {
				t.Errorf("TinyLFU, MaxEntries %d: Get = %d, %v", n, v, err)
			}
		}()
	}
}

// TestReview12TinyLFUKeysOrderWithinSegments: from one goroutine (hits
// apply at once, the order is exact), 12 keys in a cache of 12 (nothing is
// evicted, so no contest and nothing depends on the hash seed). The review
// found that Keys did not list probation least recently used first, as the
// documentation said: a value demoted from protected joins probation at its
// newest end. The documentation now gives the order as it is, and this
// checks it. Here (window 1, protected at most 8): keys 0-7 fill
// protected, 8 waits on probation, 9 and 10 pass through the window to
// probation, a hit on 8 promotes it and demotes 0 (last used at step 9)
// behind 9, and 11 pushes 10 in behind 0. So Keys is the window [11], then
// probation by entry [9 0 10], then protected by last use [1 ... 7 8].
func TestReview12TinyLFUKeysOrderWithinSegments(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil },
		&Options[int, int]{MaxEntries: 12, Policy: TinyLFU})
	ctx := context.Background()
	for _, k := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 8, 11} {
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Evictions != 0 || s.Entries != 12 {
		t.Fatalf("Stats %+v: want 12 entries and no eviction", s)
	}
	want := []int{11, 9, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8}
	if ks := c.Keys(); !slices.Equal(ks, want) {
		t.Errorf("Keys = %v, want %v: the window, probation by entry, protected by last use", ks, want)
	}
	var all []int
	for k := range c.All() {
		all = append(all, k)
	}
	if !slices.Equal(all, want) {
		t.Errorf("All yields %v, want %v, the order of Keys", all, want)
	}
}

// TestReview12DeleteOfAbsentKeyAppliesRecordedHits (white-box): while hits
// overlap, a hit that finds its value live records it in its stripe's ring;
// if the value is evicted after the store's drain and before the next one,
// the ring keeps it, which the doc allows "until the cache next applies
// it, which every Delete, Set, Clear, Close and Keys does". The ring is
// given that record by hand; Delete of an absent key must then leave no
// reference to the evicted value.
func TestReview12DeleteOfAbsentKeyAppliesRecordedHits(t *testing.T) {
	var evicted []int
	made := map[int]weak.Pointer[blob]{}
	c := newCache(t, func(_ context.Context, k int) (*blob, error) {
		b := new(blob)
		made[k] = weak.Make(b)
		return b, nil
	}, &Options[int, *blob]{MaxEntries: 2, Policy: TinyLFU, OnEvict: func(k int, _ *blob, r Reason) {
		if r == Evicted {
			evicted = append(evicted, k)
		}
	}})
	ctx := context.Background()
	c.Get(ctx, 1)
	c.Get(ctx, 2)
	c.stripes.concurrent.Store(true) // hits overlap
	entries := map[int]*entry[int, *blob]{1: c.tab.lookup(c.hash(1), 1), 2: c.tab.lookup(c.hash(2), 2)}
	c.Get(ctx, 3)
	if len(evicted) != 1 {
		t.Fatalf("evicted %v, want one of 1 and 2", evicted)
	}
	// The record of a hit that found the value live and claimed a slot
	// after the store's drain (record, stripe.go).
	s := &c.stripes.s[0]
	tail := s.tail.Load()
	s.ring[tail%ringSize].Store(entries[evicted[0]])
	s.tail.Store(tail + 1)
	c.stripes.mark(0)
	clear(entries)

	c.Delete(-1) // no value for -1
	runtime.GC()
	runtime.GC()
	if made[evicted[0]].Value() != nil {
		t.Errorf("the value of %d, evicted and handed to OnEvict, is still reachable after a Delete: the Delete of an absent key applies no recorded hit", evicted[0])
	}
}

// ---------------------------------------------------------------------------
// Guards.

// r12Val is a value made once: id is unique (Loader values positive, Set's
// negative).
type r12Val struct {
	k  int
	id int64
	_  [24]byte
}

// r12Tracker follows values: made (weak pointers), left (OnEvict, once),
// leased (held now), and the errors found in goroutines.
type r12Tracker struct {
	mu     sync.Mutex
	left   map[int64]Reason
	byWhy  map[Reason]int
	weaks  map[int64]weak.Pointer[r12Val]
	leased map[int64]int
	errs   []string
}

func newR12Tracker() *r12Tracker {
	return &r12Tracker{left: map[int64]Reason{}, byWhy: map[Reason]int{}, weaks: map[int64]weak.Pointer[r12Val]{}, leased: map[int64]int{}}
}

func (tr *r12Tracker) made(v *r12Val) {
	tr.mu.Lock()
	tr.weaks[v.id] = weak.Make(v)
	tr.mu.Unlock()
}

func (tr *r12Tracker) errorf(f string, a ...any) {
	tr.mu.Lock()
	tr.errorfLocked(f, a...)
	tr.mu.Unlock()
}

func (tr *r12Tracker) errorfLocked(f string, a ...any) {
	if len(tr.errs) < 20 {
		tr.errs = append(tr.errs, fmt.Sprintf(f, a...))
	}
}

// evicted records an OnEvict call: once per value, never while leased.
func (tr *r12Tracker) evicted(k int, v *r12Val, why Reason) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if v.k != k {
		tr.errorfLocked("OnEvict(%d, a value of %d)", k, v.k)
	}
	if old, ok := tr.left[v.id]; ok {
		tr.errorfLocked("value %d of key %d left twice: %v, then %v", v.id, k, old, why)
	}
	if tr.leased[v.id] > 0 {
		tr.errorfLocked("value %d of key %d: OnEvict(%v) while leased", v.id, k, why)
	}
	tr.left[v.id] = why
	tr.byWhy[why]++
}

// lease notes that v is held, after checking it has not left.
func (tr *r12Tracker) lease(k int, v *r12Val, d int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if d > 0 {
		if why, ok := tr.left[v.id]; ok {
			tr.errorfLocked("Acquire(%d) leased value %d, which had left (%v)", k, v.id, why)
		}
	}
	tr.leased[v.id] += d
}

// check fails t for every value still reachable, and every error seen.
func (tr *r12Tracker) check(t *testing.T) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for id, w := range tr.weaks {
		if w.Value() != nil {
			_, left := tr.left[id]
			t.Errorf("value %d still reachable after Close (it left: %v)", id, left)
		}
	}
	for _, e := range tr.errs {
		t.Error(e)
	}
}

func r12Opts(max int, timed string) *Options[int, *r12Val] {
	opts := &Options[int, *r12Val]{MaxEntries: max, Policy: TinyLFU}
	switch timed {
	case "refresh":
		opts.RefreshAfter = 40 * time.Microsecond
	case "refresh-ttl":
		opts.RefreshAfter = 40 * time.Microsecond
		opts.TTL = 400 * time.Microsecond
	}
	return opts
}

var errR12 = errors.New("review12: load fails")

// TestReview12TinyLFUConcurrentContract is a PASSING GUARD: four workers
// churn a TinyLFU cache at GOMAXPROCS 2 (Gets, Gets that give up, Acquire
// held across yields, Set, Delete, Peek, Clear), with failing and slow
// loads, refreshes, and an OnEvict that re-enters (Get, Delete or Set of
// the key it is given), while a fifth goroutine checks Len,
// Stats.Entries, Keys and All against MaxEntries, Keys for duplicates and
// All for another key's value. Quiescent: the structures agree (r4Check,
// r2Check), Stats count exactly the requests, Loader returns, evictions
// and expirations made; after Close every live value left as Closed and
// no value is reachable.
func TestReview12TinyLFUConcurrentContract(t *testing.T) {
	for _, max := range []int{1, 2, 3, 127, 128, 130} {
		for _, timed := range []string{"untimed", "refresh", "refresh-ttl"} {
			t.Run(fmt.Sprintf("%d/%s", max, timed), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
				r12Churn(t, max, timed)
			})
		}
	}
}

func r12Churn(t *testing.T, max int, timed string) {
	tr := newR12Tracker()
	var next, loads, requests atomic.Int64
	var reenter atomic.Bool
	reenter.Store(true)
	var c *KeyedCache[int, *r12Val]
	opts := r12Opts(max, timed)
	opts.OnEvict = func(k int, v *r12Val, why Reason) {
		tr.evicted(k, v, why)
		if !reenter.Load() {
			return
		}
		switch v.id % 7 {
		case 0:
			if _, err := c.Get(context.Background(), k); !errors.Is(err, ErrClosed) {
				requests.Add(1)
			}
		case 1:
			c.Delete(k)
		case 2:
			nv := &r12Val{k: k, id: -next.Add(1)}
			tr.made(nv)
			_ = c.Set(k, nv)
		}
	}
	var err error
	c, err = New(func(ctx context.Context, k int) (*r12Val, error) {
		id := next.Add(1)
		switch id % 13 {
		case 0:
			return nil, errR12
		case 1, 2:
			select {
			case <-time.After(time.Duration(id%50) * time.Microsecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case 3:
			runtime.Gosched()
		}
		v := &r12Val{k: k, id: id}
		tr.made(v)
		loads.Add(1)
		return v, nil
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	universe := 3*max + 6
	stop := make(chan struct{})
	var mon sync.WaitGroup
	mon.Add(1)
	go func() {
		defer mon.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := c.Len(); n > max {
				tr.errorf("Len %d > MaxEntries %d", n, max)
			}
			if s := c.Stats(); s.Entries > max {
				tr.errorf("Stats.Entries %d > MaxEntries %d", s.Entries, max)
			}
			ks := c.Keys()
			if len(ks) > max {
				tr.errorf("Keys lists %d > MaxEntries %d", len(ks), max)
			}
			seen := map[int]bool{}
			for _, k := range ks {
				if seen[k] {
					tr.errorf("Keys lists %d twice", k)
				}
				seen[k] = true
			}
			n := 0
			for k, v := range c.All() {
				n++
				if v.k != k {
					tr.errorf("All yields %d with a value of %d", k, v.k)
				}
			}
			if n > max {
				tr.errorf("All yields %d > MaxEntries %d", n, max)
			}
		}
	}()
	rounds := 3000
	if raceEnabled || testing.Short() {
		rounds = 1000
	}
	clearOdds := 100
	if max > 100 {
		clearOdds = 1000 // let the policy fill, and its sims run
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(max), uint64(w)))
			for range rounds {
				k := rng.IntN(universe)
				if rng.IntN(3) == 0 {
					k = rng.IntN(max/2 + 1)
				}
				switch op := rng.IntN(100); {
				case op < 45:
					requests.Add(1)
					if v, err := c.Get(context.Background(), k); err == nil && v.k != k {
						tr.errorf("Get(%d) = a value of %d", k, v.k)
					}
				case op < 52:
					requests.Add(1)
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(40))*time.Microsecond)
					_, _ = c.Get(ctx, k)
					cancel()
				case op < 70:
					requests.Add(1)
					v, release, err := c.Acquire(context.Background(), k)
					if err == nil {
						tr.lease(k, v, 1)
						for range rng.IntN(3) {
							runtime.Gosched()
						}
						tr.lease(k, v, -1)
					}
					release()
				case op < 80:
					nv := &r12Val{k: k, id: -next.Add(1)}
					tr.made(nv)
					if err := c.Set(k, nv); err != nil {
						tr.errorf("Set(%d): %v", k, err)
					}
				case op < 88:
					c.Delete(k)
				case op < 99:
					c.Peek(k)
				default:
					if rng.IntN(clearOdds/100) == 0 {
						c.Clear()
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	mon.Wait()
	// No load or refresh in flight, nor a refresh's callbacks.
	for {
		r4Quiesce(t, c)
		c.mu.Lock()
		busy := c.running != 0 || len(c.notifiers) != 0
		c.mu.Unlock()
		if !busy {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	reenter.Store(false)
	r4Check(t, c)
	r2Check(t, c)
	s := c.Stats()
	tr.mu.Lock()
	if got, want := s.Hits+s.Misses, uint64(requests.Load()); got != want {
		t.Errorf("Hits %d + Misses %d = %d, want %d requests", s.Hits, s.Misses, got, want)
	}
	if s.Loads != uint64(loads.Load()) {
		t.Errorf("Loads = %d, the Loader returned %d values", s.Loads, loads.Load())
	}
	if s.Evictions != uint64(tr.byWhy[Evicted]) {
		t.Errorf("Evictions = %d, OnEvict(Evicted) ran %d times", s.Evictions, tr.byWhy[Evicted])
	}
	if s.Expirations != uint64(tr.byWhy[Expired]) {
		t.Errorf("Expirations = %d, OnEvict(Expired) ran %d times", s.Expirations, tr.byWhy[Expired])
	}
	if s.AwaitingRelease != 0 {
		t.Errorf("AwaitingRelease = %d with every lease released", s.AwaitingRelease)
	}
	if tr.byWhy[Evicted] == 0 && opts.TTL == 0 {
		t.Errorf("nothing was evicted: the test tests nothing")
	}
	tr.mu.Unlock()
	live := map[int64]bool{}
	for _, v := range c.All() {
		live[v.id] = true
	}
	c.Close()
	tr.mu.Lock()
	for id := range live {
		// Close removes a value whose TTL has passed since as Expired.
		if why, ok := tr.left[id]; !ok || (why != Closed && (why != Expired || opts.TTL == 0)) {
			t.Errorf("live value %d left with %v (%v), want Closed", id, why, ok)
		}
	}
	tr.mu.Unlock()
	tr.check(t)
	runtime.KeepAlive(c)
}

// TestReview12TinyLFUCloseAmidChurn is a PASSING GUARD: Close called by a
// worker while three others churn a TinyLFU cache (with refreshes, leases
// and slow loads), and from OnEvict(Evicted) callbacks, which also
// re-enter with Get, Delete and Set. Every worker runs on until it has
// seen ErrClosed 50 times. Then nothing is left (values, leases awaiting,
// loads, refreshes, callback goroutines), no value left twice or while
// leased, and no value is reachable.
func TestReview12TinyLFUCloseAmidChurn(t *testing.T) {
	for _, max := range []int{1, 2, 128} {
		for _, timed := range []string{"untimed", "refresh", "refresh-ttl"} {
			for rep := range 3 {
				t.Run(fmt.Sprintf("%d/%s/%d", max, timed, rep), func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
					r12CloseAmid(t, max, timed, uint64(rep))
				})
			}
		}
	}
}

func r12CloseAmid(t *testing.T, max int, timed string, seed uint64) {
	tr := newR12Tracker()
	var next atomic.Int64
	var c *KeyedCache[int, *r12Val]
	opts := r12Opts(max, timed)
	opts.OnEvict = func(k int, v *r12Val, why Reason) {
		tr.evicted(k, v, why)
		switch v.id % 11 {
		case 0:
			_, _ = c.Get(context.Background(), k)
		case 1:
			c.Delete(k)
		case 2:
			nv := &r12Val{k: k, id: -next.Add(1)}
			tr.made(nv)
			_ = c.Set(k, nv)
		case 3:
			if why == Evicted {
				c.Close()
			}
		}
	}
	var err error
	c, err = New(func(ctx context.Context, k int) (*r12Val, error) {
		id := next.Add(1)
		if id%5 < 2 {
			select {
			case <-time.After(time.Duration(id%80) * time.Microsecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		v := &r12Val{k: k, id: id}
		tr.made(v)
		return v, nil
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	universe := 3*max + 6
	var wg, closers sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			closed := 0
			for i := 0; closed < 50; i++ {
				k := rng.IntN(universe)
				if w == 0 && i == 300+int(seed)*100 {
					closers.Add(1)
					go func() { defer closers.Done(); c.Close() }()
				}
				var err error
				switch op := rng.IntN(100); {
				case op < 45:
					_, err = c.Get(context.Background(), k)
				case op < 52:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(40))*time.Microsecond)
					_, err = c.Get(ctx, k)
					cancel()
				case op < 75:
					var v *r12Val
					var release func()
					v, release, err = c.Acquire(context.Background(), k)
					if err == nil {
						tr.lease(k, v, 1)
						runtime.Gosched()
						tr.lease(k, v, -1)
					}
					release()
				case op < 85:
					nv := &r12Val{k: k, id: -next.Add(1)}
					tr.made(nv)
					err = c.Set(k, nv)
				case op < 92:
					c.Delete(k)
				case op < 97:
					c.Keys()
				default:
					c.Clear()
				}
				if errors.Is(err, ErrClosed) {
					closed++
				}
			}
		}()
	}
	wg.Wait()
	closers.Wait()
	c.Close()
	c.mu.Lock()
	if c.live != 0 || c.awaiting != 0 || c.running != 0 || c.loading.Len() != 0 || c.tiny.Len() != 0 || len(c.notifiers) != 0 {
		t.Errorf("after Close: live %d, awaiting %d, running %d, loading %d, policy %d, notifiers %d",
			c.live, c.awaiting, c.running, c.loading.Len(), c.tiny.Len(), len(c.notifiers))
	}
	c.mu.Unlock()
	tr.check(t)
	runtime.KeepAlive(c)
}

// TestReview12TinyLFUEveryLoadedValueLeavesOnce is a PASSING GUARD: with
// no source of staleness (no Delete, Set, Clear, cancelled Get, or Close
// before the end), every value a Loader returns is stored, and so must
// leave exactly once, whatever TinyLFU, a refresh or expiry does with it:
// four workers Get and Acquire at GOMAXPROCS 2, an OnEvict re-enters with
// Get, sizes 1 to 200 (around the sims' threshold of 128), with
// refreshes, a TTL, and ExpireAfter lifetimes from 0 (born expired) up.
func TestReview12TinyLFUEveryLoadedValueLeavesOnce(t *testing.T) {
	life := func(_ int, v *r12Val) time.Duration {
		switch v.id % 5 {
		case 0:
			return 0
		case 1:
			return time.Microsecond
		case 2:
			return 200 * time.Microsecond
		}
		return time.Hour
	}
	rounds := 1500
	if raceEnabled || testing.Short() {
		rounds = 600
	}
	for _, max := range []int{1, 2, 3, 127, 128, 200} {
		for _, timed := range []string{"untimed", "refresh", "refresh-ttl", "expireafter", "refresh-expireafter"} {
			t.Run(fmt.Sprintf("%d/%s", max, timed), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
				var mu sync.Mutex
				loaded := map[int64]bool{}
				left := map[int64]int{}
				var next atomic.Int64
				var c *KeyedCache[int, *r12Val]
				opts := r12Opts(max, timed)
				switch timed {
				case "expireafter":
					opts.ExpireAfter = life
				case "refresh-expireafter":
					opts.ExpireAfter = life
					opts.RefreshAfter = 40 * time.Microsecond
				}
				opts.OnEvict = func(k int, v *r12Val, why Reason) {
					mu.Lock()
					left[v.id]++
					mu.Unlock()
					if v.id%9 == 0 {
						_, _ = c.Get(context.Background(), k)
					}
				}
				var err error
				c, err = New(func(ctx context.Context, k int) (*r12Val, error) {
					id := next.Add(1)
					if id%4 == 1 {
						time.Sleep(time.Duration(id%50) * time.Microsecond)
					}
					mu.Lock()
					loaded[id] = true
					mu.Unlock()
					return &r12Val{k: k, id: id}, nil
				}, opts)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(max), uint64(w)))
						for range rounds {
							k := rng.IntN(3*max + 4)
							if rng.IntN(2) == 0 {
								k = rng.IntN(max/2 + 1)
							}
							if rng.IntN(3) == 0 {
								_, release, err := c.Acquire(context.Background(), k)
								if err != nil {
									t.Error(err)
								}
								runtime.Gosched()
								release()
							} else if _, err := c.Get(context.Background(), k); err != nil {
								t.Error(err)
							}
						}
					}()
				}
				wg.Wait()
				r4Quiesce(t, c)
				c.Close()
				mu.Lock()
				defer mu.Unlock()
				for id := range loaded {
					if left[id] != 1 {
						t.Errorf("loaded value %d left %d times", id, left[id])
					}
				}
				for id, n := range left {
					if !loaded[id] {
						t.Errorf("value %d left %d times, never loaded", id, n)
					}
				}
			})
		}
	}
}
