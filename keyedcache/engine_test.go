package keyedcache

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
	"weak"
)

// returns fails the test if f has not returned within 10 s of real time:
// the tests below are about deadlocks, and a hang must fail, not time out
// the whole run.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10s: deadlock", what)
	}
}

// TestOnEvictGetsTheKeyItIsGiven: a Get of an expired key sweeps it, and an
// OnEvict that Gets that key again (a refresh on expiry) must not wait for
// a load that only its own goroutine could finish.
func TestOnEvictGetsTheKeyItIsGiven(t *testing.T) {
	for _, cancellable := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var c *KeyedCache[string, int]
			var loads atomic.Int32
			var reloaded atomic.Int32
			c = newCache(t, func(_ context.Context, k string) (int, error) {
				return int(loads.Add(1)), nil
			}, &Options[string, int]{TTL: time.Minute, OnEvict: func(k string, _ int, r Reason) {
				if r == Expired {
					v, err := c.Get(context.Background(), k)
					if err != nil {
						t.Errorf("Get(%q) from OnEvict: %v", k, err)
					}
					reloaded.Store(int32(v))
				}
			}})
			ctx := context.Background()
			if cancellable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			c.Get(ctx, "a")
			time.Sleep(time.Minute)
			v, err := c.Get(ctx, "a")
			if err != nil || v != 2 || reloaded.Load() != 2 {
				t.Errorf("Get after expiry = %d, %v (OnEvict's Get got %d); want 2 from one shared reload", v, err, reloaded.Load())
			}
			if n := loads.Load(); n != 2 {
				t.Errorf("%d loads, want 2", n)
			}
		})
	}
}

// TestOnEvictClosesDuringALoad: an eviction made when a load completes runs
// its OnEvict; a Close there must not wait for that very load.
func TestOnEvictClosesDuringALoad(t *testing.T) {
	for _, cancellable := range []bool{false, true} {
		var c *KeyedCache[string, int]
		var closed atomic.Bool
		c = newCache(t, strlen, &Options[string, int]{MaxEntries: 1, OnEvict: func(string, int, Reason) {
			if closed.CompareAndSwap(false, true) {
				c.Close()
			}
		}})
		ctx := context.Background()
		if cancellable {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
		}
		c.Get(ctx, "a")
		returns(t, "Get that evicts, with an OnEvict that closes the cache", func() {
			if v, err := c.Get(ctx, "bb"); v != 2 || err != nil {
				t.Errorf("Get(bb) = %d, %v; want 2, nil (its load completed before the Close)", v, err)
			}
		})
		if _, err := c.Get(ctx, "a"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get after the nested Close = %v, want ErrClosed", err)
		}
	}
}

// TestCloseAfterDeleteOfALoad: a load made stale by Delete or Clear must
// still be cancelled and waited for by Close, or Close hangs on a Loader
// that returns when its context ends.
func TestCloseAfterDeleteOfALoad(t *testing.T) {
	for _, how := range []string{"Delete", "Clear"} {
		t.Run(how, func(t *testing.T) {
			started := make(chan struct{})
			returned := make(chan struct{})
			c, err := New(func(ctx context.Context, k string) (int, error) {
				close(started)
				<-ctx.Done()
				close(returned)
				return 0, ctx.Err()
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan error, 1)
			go func() { _, err := c.Get(ctx, "a"); got <- err }()
			<-started
			if how == "Delete" {
				c.Delete("a")
			} else {
				c.Clear()
			}
			returns(t, "Close after "+how+" of a load in flight", func() { c.Close() })
			select {
			case <-returned:
			default:
				t.Error("Close returned before the stale load's Loader did")
			}
			if err := <-got; !errors.Is(err, context.Canceled) {
				t.Errorf("the waiting Get got %v, want the Loader's context.Canceled", err)
			}
		})
	}
}

type blob struct{ _ [1 << 10]byte }

// TestRemovedValuesAreReleased: once a value has left and its OnEvict has
// run, the cache keeps no reference to it, whatever removed it.
func TestRemovedValuesAreReleased(t *testing.T) {
	for _, policy := range []Policy{LRU, TinyLFU} {
		for _, how := range []string{"Delete", "Evicted", "Expired", "Set", "Clear", "Close"} {
			t.Run(policy.String()+"/"+how, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					made := map[int]weak.Pointer[blob]{}
					var removed []int
					c, err := New(func(_ context.Context, k int) (*blob, error) {
						b := new(blob)
						made[k] = weak.Make(b)
						return b, nil
					}, &Options[int, *blob]{MaxEntries: 2, Policy: policy, TTL: time.Minute, OnEvict: func(k int, _ *blob, _ Reason) {
						removed = append(removed, k)
					}})
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					ctx := context.Background()
					c.Get(ctx, 1)
					for range 3 * ringSize {
						c.Get(ctx, 1) // hits, in the recency rings
					}
					switch how {
					case "Delete":
						c.Delete(1)
					case "Evicted":
						for k := 2; len(removed) == 0 && k < 100; k++ {
							c.Get(ctx, k)
							c.Get(ctx, k) // frequency, for TinyLFU's admission
						}
					case "Expired":
						time.Sleep(time.Minute)
						c.Get(ctx, 2)
					case "Set":
						c.Set(1, new(blob))
					case "Clear":
						c.Clear()
					case "Close":
						c.Close()
					}
					if len(removed) == 0 {
						t.Fatalf("%s did not remove a value", how)
					}
					runtime.GC()
					runtime.GC()
					for _, k := range removed {
						if made[k].Value() != nil {
							t.Errorf("the value of %d removed by %s is still reachable", k, how)
						}
					}
				})
			})
		}
	}
}

// TestDeletedEntriesAreFreedUnderHits: deleting keys frees their entries at
// once, even while only hits follow (no promotion has to happen first).
func TestDeletedEntriesAreFreedUnderHits(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (*blob, error) { return new(blob), nil }, nil)
	ctx := context.Background()
	var ws []weak.Pointer[blob]
	for k := range 1000 {
		v, _ := c.Get(ctx, k)
		ws = append(ws, weak.Make(v))
	}
	for k := range 1000 {
		c.Delete(k)
	}
	for range 1000 {
		c.Get(ctx, -1)
	}
	runtime.GC()
	runtime.GC()
	for k, w := range ws {
		if w.Value() != nil {
			t.Fatalf("value %d still reachable after Delete", k)
		}
	}
}

// TestDeletedEntriesAreFreedBesideLiveOnes: a bucket that a split replaced
// waits in the inner node that replaced it until every key it held has
// left (table.go, inner.retired); it must not keep the entries of those
// that left first. Half the keys are deleted and must be freed while the
// other half keep the trie's inner nodes, and their retired buckets, alive.
func TestDeletedEntriesAreFreedBesideLiveOnes(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (*blob, error) { return new(blob), nil }, nil)
	ctx := context.Background()
	var ws []weak.Pointer[blob]
	for k := range 4000 {
		v, _ := c.Get(ctx, k)
		ws = append(ws, weak.Make(v))
	}
	retired := countRetired(c)
	if retired == 0 {
		t.Fatal("4000 keys made no split that retired a bucket: the test tests nothing")
	}
	for k := 0; k < 4000; k += 2 {
		c.Delete(k)
	}
	runtime.GC()
	runtime.GC()
	for k := 0; k < 4000; k += 2 {
		if ws[k].Value() != nil {
			t.Fatalf("value %d still reachable after Delete (of %d retired buckets)", k, retired)
		}
	}
	for k := 1; k < 4000; k += 2 {
		if _, ok := c.Peek(k); !ok {
			t.Fatalf("Peek(%d) = absent; only even keys were deleted", k)
		}
	}
}

// TestTableRetiredBucketsInvariants churns a table whose hashes crowd
// into two root slots, so that buckets split again and again, and checks
// after every change what the reuse of nodes rests on: a retired bucket
// holds only entries still in the table (a removed one would be kept
// alive); a spare bucket is empty; a spare inner node has no child and no
// retired bucket, and is reused only at its own shift (table.go). It also
// checks that buckets that splits replaced do come back to be reused.
func TestTableRetiredBucketsInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var tab table[int, int]
	live := map[int]*entry[int, int]{}
	hashOf := func(k int) uint64 {
		// Root slot 0x10 or 0x11; below it, the low bits of k.
		return uint64(0x10+k%2)<<56 | uint64(k)*0x9e3779b97f4a7c15>>8
	}
	check := func(step int) {
		t.Helper()
		walkInner(&tab, func(n *inner) {
			if r := n.retired; r != nil {
				for i := range r.slot {
					if p := r.slot[i].Load(); p != nil {
						e := asEntry[int, int](p)
						if live[e.key] != e {
							t.Fatalf("step %d: a retired bucket holds entry %d, which left the table", step, e.key)
						}
					}
				}
			}
		})
		for _, b := range tab.spare {
			if !b.empty() {
				t.Fatalf("step %d: a spare bucket holds a head", step)
			}
		}
		for _, ns := range tab.spareInner {
			for _, n := range ns {
				if n.retired != nil {
					t.Fatalf("step %d: a spare inner node keeps a retired bucket", step)
				}
				for i := range n.child {
					if n.child[i].Load() != nil {
						t.Fatalf("step %d: a spare inner node has a child", step)
					}
				}
			}
		}
		for k, e := range live {
			if tab.lookup(hashOf(k), k) != e {
				t.Fatalf("step %d: key %d not found", step, k)
			}
		}
	}
	// wasRetired holds every bucket a split replaced; reused counts those
	// found linked in the trie again afterwards.
	wasRetired := map[*bucket]bool{}
	reused := 0
	next := 0
	for step := range 20000 {
		if len(live) < 40 && (len(live) == 0 || rng.IntN(2) == 0) {
			e := newEntry[int, int](next, hashOf(next))
			live[next] = e
			next++
			tab.insertLocked(e)
		} else {
			for k, e := range live {
				tab.deleteLocked(e)
				delete(live, k)
				break
			}
		}
		var slots func([]atomic.Pointer[tnode])
		slots = func(ss []atomic.Pointer[tnode]) {
			for i := range ss {
				switch p := ss[i].Load(); {
				case p == nil:
				case p.kind == kindInner:
					slots(asInner(p).child[:])
				case p.kind == kindBucket && wasRetired[asBucket(p)]:
					reused++
					delete(wasRetired, asBucket(p))
				}
			}
		}
		slots(tab.root[:])
		walkInner(&tab, func(n *inner) {
			if n.retired != nil {
				wasRetired[n.retired] = true
			}
		})
		check(step)
	}
	t.Logf("%d buckets that splits replaced were reused", reused)
	if reused == 0 {
		t.Errorf("no bucket that a split replaced was reused in 20000 steps")
	}
}

// countRetired returns the number of retired buckets in c's table.
func countRetired[K comparable, V any](c *KeyedCache[K, V]) int {
	retired := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	walkInner(&c.tab, func(n *inner) {
		if n.retired != nil {
			retired++
		}
	})
	return retired
}

// walkInner calls f for every inner node of t, under the cache's mu.
func walkInner[K comparable, V any](t *table[K, V], f func(*inner)) {
	var walk func(slots []atomic.Pointer[tnode])
	walk = func(slots []atomic.Pointer[tnode]) {
		for i := range slots {
			if p := slots[i].Load(); p != nil && p.kind == kindInner {
				f(asInner(p))
				walk(asInner(p).child[:])
			}
		}
	}
	walk(t.root[:])
}

// TestHugeTTLMeansNever: a TTL too large to add to the clock means never.
func TestHugeTTLMeansNever(t *testing.T) {
	for _, ttl := range []time.Duration{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 2} {
		var loads atomic.Int32
		c := newCache(t, func(context.Context, string) (int, error) { return int(loads.Add(1)), nil },
			&Options[string, int]{TTL: ttl})
		for range 10 {
			c.Get(context.Background(), "a")
		}
		if n := loads.Load(); n != 1 {
			t.Errorf("TTL %v: %d loads for 10 Gets, want 1 (never expires)", ttl, n)
		}
		if n := c.Len(); n != 1 {
			t.Errorf("TTL %v: Len() = %d, want 1", ttl, n)
		}
	}
}

// TestUnhashableKeyPanicsAndLeavesTheCacheUsable: a key whose dynamic type
// cannot be hashed panics in every method, as a map index would, before
// the cache takes a lock.
func TestUnhashableKeyPanicsAndLeavesTheCacheUsable(t *testing.T) {
	c := newCache(t, func(_ context.Context, k any) (int, error) { return 1, nil }, &Options[any, int]{MaxEntries: 4})
	bad := []int{1}
	calls := map[string]func(){
		"Get":     func() { c.Get(context.Background(), bad) },
		"Acquire": func() { c.Acquire(context.Background(), bad) },
		"Peek":    func() { c.Peek(bad) },
		"Delete":  func() { c.Delete(bad) },
		"Set":     func() { c.Set(bad, 1) },
	}
	for name, call := range calls {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmtPanic(r), "unhashable") {
					t.Errorf("%s of a []int key: panic %v, want a runtime error naming an unhashable type", name, r)
				}
			}()
			call()
		}()
	}
	returns(t, "Get after the panics", func() {
		if v, err := c.Get(context.Background(), "ok"); v != 1 || err != nil {
			t.Errorf("Get after the panics = %d, %v", v, err)
		}
	})
	returns(t, "Close after the panics", func() { c.Close() })
}

func fmtPanic(r any) string {
	if err, ok := r.(error); ok {
		return err.Error()
	}
	s, _ := r.(string)
	return s
}

// TestNaNKeysAreNeverStored: a key not equal to itself can never be found
// again, so each Get loads it for itself, and nothing is stored or leaked.
func TestNaNKeysAreNeverStored(t *testing.T) {
	var loads atomic.Int32
	var evicted atomic.Int32
	c := newCache(t, func(_ context.Context, k float64) (int, error) { return int(loads.Add(1)), nil },
		&Options[float64, int]{MaxEntries: 4, OnEvict: func(float64, int, Reason) { evicted.Add(1) }})
	nan := math.NaN()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 4 {
		v, err := c.Get(ctx, nan)
		if err != nil || v != 2*i+1 {
			t.Fatalf("Get(NaN) #%d = %d, %v; want a fresh load (%d)", i, v, err, 2*i+1)
		}
		v, release, err := c.Acquire(context.Background(), nan)
		if err != nil || v == 0 {
			t.Fatalf("Acquire(NaN) = %d, %v", v, err)
		}
		release()
	}
	if err := c.Set(nan, 1); err == nil || !strings.Contains(err.Error(), "not equal to itself") {
		t.Errorf("Set(NaN) = %v, want an error saying the key is not equal to itself", err)
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len() = %d after NaN Gets, want 0", n)
	}
	r4Check(t, c) // no load still running or listed
	if s := c.Stats(); s.Misses != 8 || s.Loads != 8 || s.Hits != 0 {
		t.Errorf("Stats() = %+v; want 8 misses and 8 loads", s)
	}
	c.Close()
	if n := evicted.Load(); n != 0 {
		t.Errorf("OnEvict ran %d times for values that were never stored", n)
	}
}

// TestConcurrentCloseWaitsForCallbacks: every Close returns only after every
// OnEvict(Closed) has run, except a Close called from inside one of them.
func TestConcurrentCloseWaitsForCallbacks(t *testing.T) {
	var c *KeyedCache[string, int]
	inCallback := make(chan struct{})
	finish := make(chan struct{})
	var done, nested atomic.Int32
	c = newCache(t, strlen, &Options[string, int]{OnEvict: func(k string, _ int, r Reason) {
		if r != Closed {
			return
		}
		c.Close() // nested: returns at once, or the first Close hangs
		nested.Add(1)
		if k == "a" {
			close(inCallback)
			<-finish
		}
		done.Add(1)
	}})
	c.Get(context.Background(), "a")
	c.Get(context.Background(), "bb")
	first := make(chan struct{})
	go func() { c.Close(); close(first) }()
	select {
	case <-inCallback:
	case <-time.After(10 * time.Second):
		t.Fatal("a Close nested in OnEvict(Closed) did not return")
	}
	second := make(chan struct{})
	go func() { c.Close(); close(second) }()
	select {
	case <-second:
		t.Fatal("a second Close returned while the first Close's callbacks were running")
	case <-time.After(50 * time.Millisecond):
	}
	close(finish)
	returns(t, "both Closes", func() { <-first; <-second })
	if n := done.Load(); n != 2 || nested.Load() != 2 {
		t.Errorf("%d callbacks (%d nested Closes) had run when the second Close returned, want 2", n, nested.Load())
	}
}

// TestOnEvictMayCallEveryMethod: an OnEvict may call any method of the
// cache, for any key, the one being removed included.
func TestOnEvictMayCallEveryMethod(t *testing.T) {
	methods := []string{"Get", "Acquire", "Peek", "Set", "Delete", "Clear", "Len", "Keys", "All", "Stats"}
	for _, m := range methods {
		t.Run(m, func(t *testing.T) {
			var c *KeyedCache[string, int]
			var depth atomic.Int32
			c = newCache(t, strlen, &Options[string, int]{MaxEntries: 2, OnEvict: func(k string, _ int, _ Reason) {
				if depth.Add(1) > 3 {
					return
				}
				ctx := context.Background()
				switch m {
				case "Get":
					c.Get(ctx, k)
				case "Acquire":
					_, release, _ := c.Acquire(ctx, k)
					release()
				case "Peek":
					c.Peek(k)
				case "Set":
					c.Set(k, 0)
				case "Delete":
					c.Delete(k)
				case "Clear":
					c.Clear()
				case "Len":
					c.Len()
				case "Keys":
					c.Keys()
				case "All":
					for range c.All() {
					}
				case "Stats":
					c.Stats()
				}
			}})
			returns(t, "operations whose OnEvict calls "+m, func() {
				ctx := context.Background()
				for _, k := range []string{"a", "bb", "ccc", "dddd"} {
					c.Get(ctx, k)
				}
				c.Set("a", 9)
				c.Delete("ccc")
				c.Clear()
				c.Get(ctx, "a")
				c.Close()
			})
		})
	}
}

// TestMissDoesNotCopyTheTable: no miss does work proportional to the
// number of entries. Counted, not timed: the table's nodes touched by one
// insert stay bounded while the table grows a hundredfold.
func TestMissDoesNotCopyTheTable(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, nil)
	ctx := context.Background()
	depth := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		deepest := 0
		var walk func(slots []atomic.Pointer[tnode], d int)
		walk = func(slots []atomic.Pointer[tnode], d int) {
			deepest = max(deepest, d)
			for i := range slots {
				if p := slots[i].Load(); p != nil && p.kind == kindInner {
					walk(asInner(p).child[:], d+1)
				} else if p != nil && p.kind == kindBucket {
					deepest = max(deepest, d+1)
				}
			}
		}
		walk(c.tab.root[:], 1)
		return deepest
	}
	for k := range 1000 {
		c.Get(ctx, k)
	}
	small := depth()
	for k := range 100000 {
		c.Get(ctx, k)
	}
	big := depth()
	// A hash trie of 16-way nodes: its deepest path follows the longest
	// hash prefix two keys share, about 2·log16(n) levels (the birthday
	// bound), so it grows by a few levels from 1e3 to 1e5, not a hundredfold.
	if limit := int(2*math.Log(100000)/math.Log(16)) + 2; big > limit || big > small+6 {
		t.Errorf("trie depth %d at 1e3 entries, %d at 1e5 (limit %d): an insert walks too far", small, big, limit)
	}
	if got := c.Len(); got != 100000 {
		t.Errorf("Len() = %d, want 100000", got)
	}
	for k := range 100000 {
		if v, ok := c.Peek(k); !ok || v != k {
			t.Fatalf("Peek(%d) = %d, %v", k, v, ok)
		}
	}
	for k := range 100000 {
		c.Delete(k)
	}
	c.mu.Lock()
	empty := true
	for i := range c.tab.root {
		if c.tab.root[i].Load() != nil {
			empty = false
		}
	}
	c.mu.Unlock()
	if !empty {
		t.Error("the trie keeps inner nodes after every key was deleted")
	}
}

// TestTrieCollisions drives the table with keys whose hashes collide in
// every bit, through a cache whose hash is replaced, to cover collision
// nodes.
func TestTrieCollisions(t *testing.T) {
	var tab table[int, int]
	var mu sync.Mutex
	var es []*entry[int, int]
	mu.Lock()
	for k := range 50 {
		e := newEntry[int, int](k, uint64(k%3))
		tab.insertLocked(e)
		es = append(es, e)
	}
	for _, e := range es {
		if got := tab.lookup(e.hash(), e.key); got != e {
			t.Fatalf("lookup(%d) = %v", e.key, got)
		}
	}
	for i, e := range es {
		if i%2 == 0 {
			tab.deleteLocked(e)
		}
	}
	var left []int
	tab.rangeLocked(func(e *entry[int, int]) bool { left = append(left, e.key); return true })
	mu.Unlock()
	slices.Sort(left)
	for i, e := range es {
		got := tab.lookup(e.hash(), e.key)
		if (i%2 == 0) != (got == nil) {
			t.Fatalf("after deletes, lookup(%d) = %v", e.key, got)
		}
	}
	if len(left) != 25 {
		t.Errorf("range saw %v, want the 25 odd keys", left)
	}
}

// TestTrieBuckets checks the table against a map while keys come and go,
// with hashes chosen to crowd a few slots: buckets fill, split, empty and
// come back, tags collide (only the high bits vary for some keys), and
// collision nodes sit in buckets. After every change each key must
// be found exactly when present, and once every key is gone the table must
// hold no node at all. Readers that run meanwhile must always find the keys
// that never leave.
func TestTrieBuckets(t *testing.T) {
	hashOf := func(k int) uint64 {
		switch k % 4 {
		case 0: // one root slot, varying below it
			return 0x5A00000000000000 | uint64(k)<<20
		case 1: // equal low bits: equal tags
			return 0x5A00000000000000 | uint64(k)<<40
		case 2: // full collisions
			return 0x5A12345678000000 | uint64(k%3)
		default: // spread
			return uint64(k) * 0x9E3779B97F4A7C15
		}
	}
	var tab table[int, int]
	var mu sync.Mutex
	const stable = 40 // keys below stable, multiples of 5, never leave
	present := map[int]*entry[int, int]{}
	add := func(k int) {
		e := newEntry[int, int](k, hashOf(k))
		tab.insertLocked(e)
		present[k] = e
	}
	mu.Lock()
	for k := 0; k < stable; k += 5 {
		add(k)
	}
	mu.Unlock()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var misses atomic.Int64
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := 5 * (i % (stable / 5))
				if e := tab.lookup(hashOf(k), k); e == nil || e.key != k {
					misses.Add(1)
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 20000 {
		k := rng.IntN(400)
		if k < stable && k%5 == 0 {
			continue
		}
		mu.Lock()
		if e, ok := present[k]; ok {
			tab.deleteLocked(e)
			delete(present, k)
		} else {
			add(k)
		}
		if round%500 == 0 {
			for j := range 400 {
				e := tab.lookup(hashOf(j), j)
				if want := present[j]; e != want {
					t.Fatalf("round %d: lookup(%d) = %p, want %p", round, j, e, want)
				}
			}
			n := 0
			tab.rangeLocked(func(*entry[int, int]) bool { n++; return true })
			if n != len(present) {
				t.Fatalf("round %d: range saw %d entries, want %d", round, n, len(present))
			}
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	if n := misses.Load(); n != 0 {
		t.Errorf("readers missed keys that never left %d times", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range present {
		tab.deleteLocked(e)
	}
	for i := range tab.root {
		if tab.root[i].Load() != nil {
			t.Fatalf("root slot %d still holds a node after every key left", i)
		}
	}
	// The churn above reused emptied buckets while the readers ran
	// (table.spare); what is left of them is empty.
	if len(tab.spare) == 0 {
		t.Errorf("no spare bucket after every key left, want some")
	}
	for _, b := range tab.spare {
		if !b.empty() {
			t.Errorf("a spare bucket holds a head")
		}
	}
}

// TestEntrySizes pins the memory budget of an entry on 64-bit platforms,
// so that a field added to it is a decision: a cache without timing keeps
// 80 bytes per entry for a string key and a pointer value (a size class of
// the allocator), a timed cache 112, and a load in flight 88 more, when
// the miss needs one (load.go).
func TestEntrySizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the budget is for 64-bit platforms")
	}
	for _, c := range []struct {
		what      string
		got, want uintptr
	}{
		{"entry[string, *int]", unsafe.Sizeof(entry[string, *int]{}), 80},
		{"entry[int, int]", unsafe.Sizeof(entry[int, int]{}), 72},
		{"timedEntry[string, *int]", unsafe.Sizeof(timedEntry[string, *int]{}), 112},
		{"load[string, *int]", unsafe.Sizeof(load[string, *int]{}), 88},
	} {
		if c.got > c.want {
			t.Errorf("%s is %d bytes, over its budget of %d", c.what, c.got, c.want)
		}
	}
}

// TestSetWithPanickingExpireAfter: Set returns ExpireAfter's panic as a
// *PanicError, stores nothing, and leaves the cache usable.
func TestSetWithPanickingExpireAfter(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
		ExpireAfter: func(k, v int) time.Duration {
			if v < 0 {
				panic("negative value")
			}
			return time.Hour
		},
	})
	err := c.Set(1, -1)
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "negative value" {
		t.Fatalf("Set(1, -1) = %v, want a *PanicError with the panic's value", err)
	}
	if v, ok := c.Peek(1); ok {
		t.Fatalf("Peek(1) = %d after a failed Set", v)
	}
	if err := c.Set(1, 10); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(context.Background(), 1); err != nil || v != 10 {
		t.Fatalf("Get(1) = %d, %v after Set(1, 10)", v, err)
	}
}
