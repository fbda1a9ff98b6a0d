package keyedcache

import (
	"context"
	"errors"
	"fmt"
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
)

// Review 4: the split of an entry into entry and timedEntry (201f778), and
// the loading list on the policy links tn. Under -race, checkptr panics on
// a conversion of a bare entry to *timedEntry (tm) that straddles its
// allocation, so each test here drives one family of paths through a cache
// of every kind and then checks the structures.

// r4Check verifies a quiescent cache (no load or refresh in flight): the
// loading list is empty; the table's live entries are exactly c.live; the
// order (unbounded or LRU) or the TinyLFU policy holds exactly the live
// entries, each the table's; and, in a timed cache, the expiry structure
// (TTL list or wheel) holds exactly the live entries that can expire, in
// well-formed lists. In an untimed cache it touches no timing.
func r4Check[K comparable, V any](t *testing.T, c *KeyedCache[K, V]) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	if n := c.loading.Len(); n != 0 {
		t.Errorf("loading list holds %d nodes with nothing in flight", n)
	}
	if c.running != 0 {
		t.Errorf("%d loads counted as running with nothing in flight", c.running)
	}
	if c.loading.Front() != nil {
		t.Errorf("loading list has a front node with Len 0")
	}
	if len(c.refreshing) != 0 {
		t.Errorf("refreshing holds %d entries with nothing in flight", len(c.refreshing))
	}
	inTable := 0
	c.tab.rangeLocked(func(e *entry[K, V]) bool {
		s := e.st.Load()
		if !live(s) {
			t.Errorf("table holds %v, not live (state %#x), with nothing in flight", e.key, s)
		}
		inTable++
		return true
	})
	if inTable != c.live {
		t.Errorf("table holds %d entries, c.live = %d", inTable, c.live)
	}
	seen := map[*entry[K, V]]bool{}
	n := 0
	c.ascendLocked(func(e *entry[K, V]) bool {
		if seen[e] {
			t.Errorf("order holds %v twice (a cycle?)", e.key)
			return false
		}
		seen[e] = true
		n++
		if !live(e.st.Load()) {
			t.Errorf("order holds %v, not live (state %#x)", e.key, e.st.Load())
		}
		if got := c.tab.lookup(e.hash(), e.key); got != e {
			t.Errorf("order holds %v, which the table does not map to it", e.key)
		}
		return n <= c.live+1
	})
	if n != c.live {
		t.Errorf("order/policy walk found %d entries, c.live = %d", n, c.live)
	}
	if c.tiny != nil {
		if got := c.tiny.Len(); got != c.live {
			t.Errorf("TinyLFU Len = %d, c.live = %d", got, c.live)
		}
	} else if got := c.order.Len(); got != c.live {
		t.Errorf("order Len = %d, c.live = %d", got, c.live)
	}
	if c.rec.max > 0 && c.live > c.rec.max {
		t.Errorf("live = %d > MaxEntries %d", c.live, c.rec.max)
	}
	if !c.timed {
		if c.exp.ttl.head != nil || c.exp.ttl.n != 0 || c.exp.wheel != nil {
			t.Errorf("untimed cache has expiry structures (ttl n %d, wheel %v)", c.exp.ttl.n, c.exp.wheel != nil)
		}
		return
	}
	canExpire := 0
	for e := range seen {
		if e.tm().expires != 0 {
			canExpire++
		}
	}
	walk := func(what string, l *list[K, V]) int {
		k := 0
		var prev *entry[K, V]
		for e := l.head; e != nil; e = e.tm().tl.next {
			if !seen[e] {
				t.Errorf("%s holds %v, not in the order (state %#x)", what, e.key, e.st.Load())
			}
			if e.tm().tl.prev != prev {
				t.Errorf("%s: %v's prev link is broken", what, e.key)
			}
			if e.tm().expires == 0 {
				t.Errorf("%s holds %v, which never expires", what, e.key)
			}
			prev = e
			if k++; k > c.live+1 {
				t.Errorf("%s longer than live %d (a cycle?)", what, c.live)
				break
			}
		}
		if l.tail != prev {
			t.Errorf("%s: tail is not the last entry", what)
		}
		if k != l.n {
			t.Errorf("%s: walked %d, n = %d", what, k, l.n)
		}
		return k
	}
	inExp := 0
	if c.exp.wheel != nil {
		for i := range c.exp.wheel.buckets {
			for j := range c.exp.wheel.buckets[i] {
				b := &c.exp.wheel.buckets[i][j]
				inExp += walk(fmt.Sprintf("wheel bucket %d/%d", i, j), b)
				for e := b.head; e != nil; e = e.tm().tl.next {
					if want := uint16(i<<8 | j); e.wpos != want {
						t.Errorf("%v in bucket %#x has wpos %#x", e.key, want, e.wpos)
					}
				}
			}
		}
	} else {
		inExp = walk("TTL list", &c.exp.ttl)
	}
	if inExp != canExpire {
		t.Errorf("expiry structure holds %d entries, %d live entries can expire", inExp, canExpire)
	}
}

// r4Quiesce waits, in real time, until no load or refresh is in flight and
// no goroutine of the cache runs callbacks.
func r4Quiesce[K comparable, V any](t *testing.T, c *KeyedCache[K, V]) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The callbacks that a refresh nobody joined runs in its own
		// goroutine (notifiers) may Get, and so start loads and
		// refreshes: quiet means none running and none in flight.
		c.mu.Lock()
		n := c.loading.Len() + c.running + len(c.notifiers)
		c.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d loads still in flight after 10s", n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// r4Config is one kind of cache the tests drive.
type r4Config struct {
	name string
	opts func() *Options[int, int64]
}

// r4Life gives values lifetimes of every kind by their residue: at once
// (0 and negative), never (too large to add to the clock), a nanosecond,
// short and long.
func r4Life(_ int, v int64) time.Duration {
	switch (v%7 + 7) % 7 { // Set's values are negative
	case 0:
		return 0
	case 1:
		return -time.Second
	case 2:
		return math.MaxInt64
	case 3:
		return time.Nanosecond
	case 4:
		return 50 * time.Microsecond
	case 5:
		return 3 * time.Millisecond
	}
	return time.Hour
}

func r4Configs() []r4Config {
	o := func(f func(*Options[int, int64])) func() *Options[int, int64] {
		return func() *Options[int, int64] {
			opts := &Options[int, int64]{}
			f(opts)
			return opts
		}
	}
	return []r4Config{
		{"untimed", o(func(*Options[int, int64]) {})},
		{"untimed-lru", o(func(p *Options[int, int64]) { p.MaxEntries = 4 })},
		{"untimed-tinylfu", o(func(p *Options[int, int64]) { p.MaxEntries = 4; p.Policy = TinyLFU })},
		{"ttl", o(func(p *Options[int, int64]) { p.TTL = 200 * time.Microsecond })},
		{"ttl-lru", o(func(p *Options[int, int64]) { p.TTL = 200 * time.Microsecond; p.MaxEntries = 4 })},
		{"ttl-tinylfu", o(func(p *Options[int, int64]) {
			p.TTL = 200 * time.Microsecond
			p.MaxEntries = 4
			p.Policy = TinyLFU
		})},
		{"ttl-huge-tinylfu", o(func(p *Options[int, int64]) { p.TTL = math.MaxInt64; p.MaxEntries = 4; p.Policy = TinyLFU })},
		{"expireafter", o(func(p *Options[int, int64]) { p.ExpireAfter = r4Life })},
		{"expireafter-lru", o(func(p *Options[int, int64]) { p.ExpireAfter = r4Life; p.MaxEntries = 4 })},
		{"expireafter-tinylfu", o(func(p *Options[int, int64]) {
			p.ExpireAfter = r4Life
			p.MaxEntries = 4
			p.Policy = TinyLFU
		})},
		{"refresh", o(func(p *Options[int, int64]) { p.RefreshAfter = 30 * time.Microsecond })},
		{"refresh-lru", o(func(p *Options[int, int64]) { p.RefreshAfter = 30 * time.Microsecond; p.MaxEntries = 4 })},
		{"refresh-tinylfu", o(func(p *Options[int, int64]) {
			p.RefreshAfter = 30 * time.Microsecond
			p.MaxEntries = 4
			p.Policy = TinyLFU
		})},
		{"refresh-ttl-tinylfu", o(func(p *Options[int, int64]) {
			p.RefreshAfter = 30 * time.Microsecond
			p.TTL = 300 * time.Microsecond
			p.MaxEntries = 4
			p.Policy = TinyLFU
		})},
		{"refresh-expireafter-lru", o(func(p *Options[int, int64]) {
			p.RefreshAfter = 30 * time.Microsecond
			p.ExpireAfter = r4Life
			p.MaxEntries = 4
		})},
	}
}

// r4Evicts records OnEvict calls by value: every value is unique (the
// loader and Set draw them from one counter, Set's negated), so a value
// seen twice is a double eviction.
type r4Evicts struct {
	mu   sync.Mutex
	seen map[int64]Reason
	dup  []string
}

func (r *r4Evicts) add(k int, v int64, why Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.seen[v]; ok {
		r.dup = append(r.dup, fmt.Sprintf("%d=%d: %v then %v", k, v, old, why))
	}
	r.seen[v] = why
}

func (r *r4Evicts) evicted(v int64) (Reason, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	why, ok := r.seen[v]
	return why, ok
}

func (r *r4Evicts) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

var errR4 = errors.New("review4: load fails")

// r4Run drives c with workers goroutines of random calls, then checks it
// quiescent, closes it, and checks it again.
func r4Run(t *testing.T, cfg r4Config, workers, rounds int, seed uint64) {
	var next atomic.Int64
	var stored atomic.Int64 // values loaded or Set (an upper bound on those stored)
	ev := &r4Evicts{seen: map[int64]Reason{}}
	opts := cfg.opts()
	opts.OnEvict = ev.add
	if life := opts.ExpireAfter; life != nil {
		opts.ExpireAfter = func(k int, v int64) time.Duration {
			if v > 0 && v%13 == 12 { // loaded values only: Set's are negative
				panic(errR4) // fails the load
			}
			return life(k, v)
		}
	}
	c, err := New(func(ctx context.Context, k int) (int64, error) {
		v := next.Add(1)
		switch v % 11 {
		case 0:
			return 0, errR4
		case 1, 2:
			select {
			case <-time.After(time.Duration(v%40) * time.Microsecond):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		case 3:
			runtime.Gosched()
		case 4:
			panic(errR4)
		}
		stored.Add(1)
		return v, nil
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const keys = 12
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range rounds {
				k := rng.IntN(keys)
				switch op := rng.IntN(100); {
				case op < 35:
					_, _ = c.Get(context.Background(), k)
				case op < 45:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(30))*time.Microsecond)
					_, _ = c.Get(ctx, k)
					cancel()
				case op < 60:
					ctx := context.Background()
					var cancel context.CancelFunc = func() {}
					if rng.IntN(2) == 0 {
						ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(30))*time.Microsecond)
					}
					v, release, err := c.Acquire(ctx, k)
					cancel()
					if err == nil {
						if why, ok := ev.evicted(v); ok {
							t.Errorf("%s: Acquire(%d) leased %d, whose OnEvict(%v) already ran", cfg.name, k, v, why)
						}
						runtime.Gosched()
						if why, ok := ev.evicted(v); ok {
							t.Errorf("%s: OnEvict(%d, %v) ran while it was leased", cfg.name, v, why)
						}
					}
					release()
					release()
				case op < 68:
					stored.Add(1)
					_ = c.Set(k, -next.Add(1))
				case op < 76:
					c.Delete(k)
				case op < 82:
					c.Peek(k)
				case op < 86:
					c.Keys()
				case op < 90:
					i := 0
					for range c.All() {
						if i++; i > 2 {
							break
						}
					}
				case op < 94:
					c.Len()
				case op < 98:
					c.Stats()
				default:
					c.Clear()
				}
			}
		}()
	}
	wg.Wait()
	r4Quiesce(t, c)
	r4Check(t, c)
	// Leave loads in flight for Close.
	for k := range keys {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			_, _ = c.Get(ctx, k+keys)
		}()
	}
	runtime.Gosched()
	c.Close()
	r4Check(t, c)
	if n := c.Len(); n != 0 {
		t.Errorf("%s: Len = %d after Close", cfg.name, n)
	}
	if s := c.Stats(); s.AwaitingRelease != 0 {
		t.Errorf("%s: AwaitingRelease = %d after Close with every lease released", cfg.name, s.AwaitingRelease)
	}
	ev.mu.Lock()
	for _, d := range ev.dup {
		t.Errorf("%s: OnEvict twice for one value: %s", cfg.name, d)
	}
	ev.mu.Unlock()
	if got, most := int64(ev.count()), stored.Load(); got > most {
		t.Errorf("%s: %d values evicted, but at most %d were stored", cfg.name, got, most)
	}
}

// TestReview4Stress runs every kind of cache, untimed and timed, bounded
// by LRU or TinyLFU or not, through random concurrent calls at GOMAXPROCS
// 1, 2 and 8, and checks its structures once quiescent and after Close.
func TestReview4Stress(t *testing.T) {
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	for _, procs := range []int{1, 2, 8} {
		for _, cfg := range r4Configs() {
			t.Run(fmt.Sprintf("%s/procs%d", cfg.name, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				r4Run(t, cfg, 8, rounds, uint64(procs)*1000+uint64(len(cfg.name)))
			})
		}
	}
}

// r4Gated is a Loader whose calls for a key wait, once the key is gated,
// until the gate opens or their context ends. Values are key#n, n counting
// all calls.
type r4Gated struct {
	mu    sync.Mutex
	calls int
	gates map[string]chan struct{}
	deaf  map[string]bool // keys whose held calls ignore their ctx
}

func (g *r4Gated) load(ctx context.Context, k string) (string, error) {
	g.mu.Lock()
	g.calls++
	n, gate, deaf := g.calls, g.gates[k], g.deaf[k]
	g.mu.Unlock()
	if gate != nil && deaf {
		<-gate
	} else if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return fmt.Sprintf("%s#%d", k, n), nil
}

func (g *r4Gated) gate(k string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates == nil {
		g.gates = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	g.gates[k] = ch
	return ch
}

func (g *r4Gated) ungate(k string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gates[k])
	delete(g.gates, k)
}

// TestReview4RefreshOnlyJoinedThenDeleted: in a cache timed by RefreshAfter
// alone (its values never expire), bounded by LRU or TinyLFU, a refresh
// whose old value is evicted meanwhile is joined by the next Get, and a
// Delete then makes it stale: the joined Get receives its value, nothing is
// stored, the refresh's node leaves the loading list for no policy, and the
// next Get loads afresh.
func TestReview4RefreshOnlyJoinedThenDeleted(t *testing.T) {
	for _, policy := range []Policy{LRU, TinyLFU} {
		t.Run(policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &r4Gated{}
				var log evictLog[string, string]
				c := newCache(t, g.load, &Options[string, string]{
					RefreshAfter: time.Second, MaxEntries: 1, Policy: policy, OnEvict: log.add,
				})
				bg := context.Background()
				if v, err := c.Get(bg, "a"); v != "a#1" || err != nil {
					t.Fatalf("Get(a) = %q, %v", v, err)
				}
				time.Sleep(2 * time.Second)
				g.gate("a")
				if v, err := c.Get(bg, "a"); v != "a#1" || err != nil { // starts the refresh, held
					t.Fatalf("Get(a) after RefreshAfter = %q, %v", v, err)
				}
				synctest.Wait()
				// Other keys push a out (under TinyLFU, a newcomer may be
				// turned away first).
				for i := 0; c.tab.lookup(c.hash("a"), "a") != nil && i < 10; i++ {
					if _, err := c.Get(bg, fmt.Sprintf("b%d", i)); err != nil {
						t.Fatal(err)
					}
				}
				if _, ok := c.Peek("a"); ok {
					t.Fatalf("a still stored after ten other keys in a cache of one")
				}
				got := make(chan string, 1)
				go func() {
					v, err := c.Get(bg, "a") // joins the refresh
					if err != nil {
						v = err.Error()
					}
					got <- v
				}()
				synctest.Wait()
				if s := c.Stats(); s.Shared != 1 {
					t.Fatalf("Stats.Shared = %d, want 1: the Get of a did not join the refresh", s.Shared)
				}
				if c.Delete("a") {
					t.Errorf("Delete(a) = true with only a refresh in flight")
				}
				g.ungate("a")
				if v := <-got; v != "a#2" {
					t.Errorf("the Get that joined the refresh received %q, want a#2", v)
				}
				synctest.Wait()
				r4Check(t, c)
				if _, ok := c.Peek("a"); ok {
					t.Errorf("the stale refresh's value was stored")
				}
				if v, err := c.Get(bg, "a"); err != nil || v == "a#2" || v == "a#1" {
					t.Errorf("Get(a) after the stale refresh = %q, %v; want a fresh load", v, err)
				}
				r4Check(t, c)
				for _, e := range log.take() {
					if strings.HasPrefix(e, "a=a#2:") {
						t.Errorf("OnEvict for the stale refresh's value: %s", e)
					}
				}
			})
		})
	}
}

// TestReview4ClearAmongLoads: Clear with every kind of load in flight (one
// with waiters, one whose waiters all left, one made stale by Set, one by
// Delete, a refresh nobody joined, a refresh joined) walks the loading list
// while making them stale; once they end, the loading list is empty, no
// policy holds a stale load's node, nothing they returned is stored, and
// each key loads afresh.
func TestReview4ClearAmongLoads(t *testing.T) {
	for _, cfg := range []struct {
		name string
		opts Options[string, string]
	}{
		{"untimed", Options[string, string]{}},
		{"untimed-lru", Options[string, string]{MaxEntries: 8}},
		{"untimed-tinylfu", Options[string, string]{MaxEntries: 8, Policy: TinyLFU}},
		{"refresh-lru", Options[string, string]{MaxEntries: 8, RefreshAfter: time.Second}},
		{"refresh-tinylfu", Options[string, string]{MaxEntries: 8, Policy: TinyLFU, RefreshAfter: time.Second}},
		{"refresh-ttl-tinylfu", Options[string, string]{MaxEntries: 8, Policy: TinyLFU, RefreshAfter: time.Second, TTL: 3 * time.Second}},
		{"expireafter-lru", Options[string, string]{MaxEntries: 8, ExpireAfter: func(string, string) time.Duration { return time.Hour }}},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &r4Gated{deaf: map[string]bool{"left": true}}
				var log evictLog[string, string]
				opts := cfg.opts
				opts.OnEvict = log.add
				c := newCache(t, g.load, &opts)
				bg := context.Background()
				refreshing := opts.RefreshAfter > 0
				if refreshing {
					for _, k := range []string{"r1", "r2"} {
						if _, err := c.Get(bg, k); err != nil {
							t.Fatal(err)
						}
					}
					time.Sleep(2 * time.Second)
				}
				for _, k := range []string{"w", "left", "set", "del", "r1", "r2"} {
					g.gate(k)
				}
				var wg sync.WaitGroup
				results := map[string]*string{}
				get := func(k string, ctx context.Context) {
					r := new(string)
					results[k] = r
					wg.Go(func() {
						v, err := c.Get(ctx, k)
						if err != nil {
							v = "err: " + err.Error()
						}
						*r = v
					})
				}
				get("w", bg)
				leftCtx, leave := context.WithCancel(bg)
				get("left", leftCtx)
				get("set", bg)
				get("del", bg)
				synctest.Wait()
				leave()
				synctest.Wait()
				if err := c.Set("set", "set!"); err != nil {
					t.Fatal(err)
				}
				c.Delete("del")
				want := 4 // w, left, set, del
				if refreshing {
					for _, k := range []string{"r1", "r2"} {
						if _, err := c.Get(bg, k); err != nil { // starts its refresh, held
							t.Fatal(err)
						}
					}
					want++ // r1's refresh, which nobody joins
					if opts.TTL > 0 {
						// r2's old value expires while its refresh runs:
						// the next Get joins the refresh.
						time.Sleep(opts.TTL)
						get("r2", bg)
						synctest.Wait()
						want++
					} else {
						c.Delete("r2") // cancels its refresh, which ends
						g.ungate("r2")
						g.gate("r2")
					}
					synctest.Wait()
				}
				c.mu.Lock()
				inFlight := c.running
				c.mu.Unlock()
				if inFlight != want {
					t.Fatalf("%d loads in flight before Clear, want %d", inFlight, want)
				}
				c.Clear()
				for _, k := range []string{"w", "left", "set", "del", "r1", "r2"} {
					g.ungate(k)
				}
				wg.Wait()
				synctest.Wait()
				r4Check(t, c)
				if n := c.Len(); n != 0 {
					t.Errorf("Len = %d after Clear and the end of the loads it made stale; keys %v", n, c.Keys())
				}
				if got := *results["w"]; got == "" || got[:2] != "w#" {
					t.Errorf("the waiter of w received %q, want its load's value", got)
				}
				if got := *results["left"]; got != "err: "+context.Canceled.Error() {
					t.Errorf("the Get of left received %q, want its ctx error", got)
				}
				for _, k := range []string{"w", "left", "set", "del", "r1", "r2"} {
					v, err := c.Get(bg, k)
					if r := results[k]; err != nil || (r != nil && v == *r) || v == "set!" {
						t.Errorf("Get(%s) after Clear = %q, %v; want a fresh load", k, v, err)
					}
				}
				r4Check(t, c)
				keys := c.Keys()
				slices.Sort(keys)
				if want := []string{"del", "left", "r1", "r2", "set", "w"}; !slices.Equal(keys, want) {
					t.Errorf("Keys = %v, want %v", keys, want)
				}
			})
		})
	}
}

// TestReview4ExpireAfterEdges: lifetimes of zero, negative, a nanosecond,
// an hour and too large to add to the clock, under each policy. Born
// expired values reach their Get and OnEvict(Expired) at once and take no
// place; the huge ones outlive the test; the nanosecond one expires at
// once for every reader.
func TestReview4ExpireAfterEdges(t *testing.T) {
	life := map[string]time.Duration{
		"zero": 0, "neg": -time.Second, "ns": time.Nanosecond, "hour": time.Hour,
		"huge": math.MaxInt64, "huge2": math.MaxInt64 - 1, "other": time.Hour * 3,
	}
	for _, cfg := range []struct {
		name   string
		max    int
		policy Policy
	}{{"unbounded", 0, LRU}, {"lru", 3, LRU}, {"tinylfu", 3, TinyLFU}} {
		t.Run(cfg.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log evictLog[string, string]
				c := newCache(t, func(_ context.Context, k string) (string, error) { return k + "!", nil },
					&Options[string, string]{
						MaxEntries: cfg.max, Policy: cfg.policy, OnEvict: log.add,
						ExpireAfter: func(k, _ string) time.Duration { return life[k] },
					})
				bg := context.Background()
				for _, k := range []string{"zero", "neg"} {
					if v, err := c.Get(bg, k); v != k+"!" || err != nil {
						t.Errorf("Get(%s) = %q, %v", k, v, err)
					}
					if got := log.take(); !slices.Equal(got, []string{k + "=" + k + "!:Expired"}) {
						t.Errorf("OnEvict after Get(%s) = %v, want it Expired at once", k, got)
					}
					if _, ok := c.Peek(k); ok {
						t.Errorf("Peek(%s) found a value born expired", k)
					}
				}
				r4Check(t, c)
				for _, k := range []string{"huge", "huge2", "hour"} {
					if _, err := c.Get(bg, k); err != nil {
						t.Fatal(err)
					}
				}
				r4Check(t, c)
				if _, err := c.Get(bg, "ns"); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Microsecond)
				if _, ok := c.Peek("ns"); ok {
					t.Errorf("Peek(ns) found it 1µs after a lifetime of 1ns")
				}
				time.Sleep(2 * time.Hour)
				if n, want := c.Len(), len(c.Keys()); n != want {
					t.Errorf("Len = %d, Keys has %d", n, want)
				}
				r4Check(t, c)
				_ = c.Set("zero", "z") // Set of a born-expired value
				_, _ = c.Get(bg, "other")
				r4Check(t, c)
				if cfg.max == 0 {
					keys := c.Keys()
					slices.Sort(keys)
					if want := []string{"huge", "huge2", "other"}; !slices.Equal(keys, want) {
						t.Errorf("Keys after 2h = %v, want %v", keys, want)
					}
				}
				log.take()
				c.Close()
				r4Check(t, c)
			})
		})
	}
}
