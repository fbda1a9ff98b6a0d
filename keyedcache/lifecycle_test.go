package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The tests of this file cover the lifecycle of a value: leases (Acquire),
// per-value expiry (ExpireAfter), refresh-ahead (RefreshAfter), Set, All,
// and the read-only calls that must have no side effect.

// An lcEvict is one OnEvict call, with the goroutine it ran in.
type lcEvict struct {
	key, val string
	why      Reason
	gid      uint64
}

func (e lcEvict) String() string { return fmt.Sprintf("%s=%s:%v", e.key, e.val, e.why) }

// lcLog records OnEvict calls.
type lcLog struct {
	mu  sync.Mutex
	got []lcEvict
}

func (l *lcLog) add(k, v string, r Reason) {
	g := lcGoid()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, lcEvict{k, v, r, g})
}

// take returns the calls so far, as strings, and forgets them.
func (l *lcLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []string
	for _, e := range l.got {
		s = append(s, e.String())
	}
	l.got = nil
	return s
}

func (l *lcLog) calls() []lcEvict {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// lcGoid returns the calling goroutine's id, from its stack header.
func lcGoid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	s, _, _ = strings.Cut(s, " ")
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}

// lcCounter is a Loader that returns "<key>#<n>" for its n-th call, and
// counts its calls.
type lcCounter struct {
	n atomic.Int32
}

func (l *lcCounter) load(_ context.Context, k string) (string, error) {
	return fmt.Sprintf("%s#%d", k, l.n.Add(1)), nil
}

// cancellable returns a context that can end, so that Loaders run in
// goroutines of their own.
func cancellable(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func TestAcquireHitAndMiss(t *testing.T) {
	for _, ctxName := range []string{"Background", "cancellable"} {
		t.Run(ctxName, func(t *testing.T) {
			ctx := context.Background()
			if ctxName == "cancellable" {
				ctx = cancellable(t)
			}
			var ld lcCounter
			log := &lcLog{}
			c := newCache(t, ld.load, &Options[string, string]{OnEvict: log.add})
			for i, want := range []string{"a#1", "a#1", "a#1"} {
				v, release, err := c.Acquire(ctx, "a")
				if v != want || err != nil || release == nil {
					t.Fatalf("Acquire #%d = %q, %v, release nil: %v; want %q", i, v, err, release == nil, want)
				}
				release()
				release() // idempotent
			}
			s := c.Stats()
			if s.Hits != 2 || s.Misses != 1 || s.Loads != 1 || s.Entries != 1 || s.AwaitingRelease != 0 {
				t.Errorf("Stats() = %+v, want 2 hits, 1 miss, 1 load, 1 entry, none awaiting", s)
			}
			if got := log.take(); got != nil {
				t.Errorf("OnEvict calls %v, want none", got)
			}
		})
	}
}

// TestReleaseIsIdempotent takes two leases and releases the first one
// twice: the value must stay leased by the second.
func TestReleaseIsIdempotent(t *testing.T) {
	var ld lcCounter
	log := &lcLog{}
	c := newCache(t, ld.load, &Options[string, string]{OnEvict: log.add})
	ctx := context.Background()
	_, r1, _ := c.Acquire(ctx, "a") // a miss
	_, r2, _ := c.Acquire(ctx, "a") // a hit
	r1()
	r1()
	c.Delete("a")
	if got := log.take(); got != nil {
		t.Fatalf("OnEvict ran at Delete (%v) although a lease is held: a second release of one lease counted twice", got)
	}
	if n := c.Stats().AwaitingRelease; n != 1 {
		t.Errorf("AwaitingRelease = %d, want 1", n)
	}
	r2()
	r2()
	r1()
	if got, want := log.take(), []string{"a=a#1:Deleted"}; !slices.Equal(got, want) {
		t.Errorf("OnEvict calls %v, want %v", got, want)
	}
	if n := c.Stats().AwaitingRelease; n != 0 {
		t.Errorf("AwaitingRelease = %d after the last release, want 0", n)
	}
}

func TestAcquireErrorsGiveANoOpRelease(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		run  func(t *testing.T, c *KeyedCache[string, string]) (func(), error)
		want error
	}{
		{"loader error", func(t *testing.T, c *KeyedCache[string, string]) (func(), error) {
			_, r, err := c.Acquire(context.Background(), "fail")
			return r, err
		}, boom},
		{"loader error, waited for", func(t *testing.T, c *KeyedCache[string, string]) (func(), error) {
			_, r, err := c.Acquire(cancellable(t), "fail")
			return r, err
		}, boom},
		{"context already done", func(t *testing.T, c *KeyedCache[string, string]) (func(), error) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, r, err := c.Acquire(ctx, "a")
			return r, err
		}, context.Canceled},
		{"context ends while waiting", func(t *testing.T, c *KeyedCache[string, string]) (func(), error) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for c.Stats().Misses == 0 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			_, r, err := c.Acquire(ctx, "block")
			return r, err
		}, context.Canceled},
		{"after Close", func(t *testing.T, c *KeyedCache[string, string]) (func(), error) {
			c.Close()
			_, r, err := c.Acquire(context.Background(), "a")
			return r, err
		}, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &lcLog{}
			unblock := make(chan struct{})
			defer close(unblock)
			c := newCache(t, func(ctx context.Context, k string) (string, error) {
				switch k {
				case "fail":
					return "", boom
				case "block":
					select {
					case <-unblock:
					case <-ctx.Done():
					}
				}
				return k, nil
			}, &Options[string, string]{OnEvict: log.add})
			c.Set("other", "x")
			r, err := tt.run(t, c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if r == nil {
				t.Fatal("release is nil after an error")
			}
			r()
			r()
			if s := c.Stats(); s.AwaitingRelease != 0 {
				t.Errorf("AwaitingRelease = %d, want 0", s.AwaitingRelease)
			}
			if got := log.take(); got != nil && tt.want != ErrClosed {
				t.Errorf("OnEvict calls %v after releasing nothing, want none", got)
			}
		})
	}
}

// TestLeaseDefersOnEvict removes a value held by three leases in each way a
// value can leave, and checks that its OnEvict waits for the last release
// and runs once, in the releasing goroutine, with the reason.
func TestLeaseDefersOnEvict(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options[string, string]
		remove func(c *KeyedCache[string, string])
		want   Reason
	}{
		{"evicted by MaxEntries", Options[string, string]{MaxEntries: 1}, func(c *KeyedCache[string, string]) {
			c.Get(context.Background(), "b")
		}, Evicted},
		{"evicted by Set", Options[string, string]{MaxEntries: 1}, func(c *KeyedCache[string, string]) {
			c.Set("b", "x")
		}, Evicted},
		{"expired (TTL)", Options[string, string]{TTL: time.Minute}, func(c *KeyedCache[string, string]) {
			time.Sleep(time.Minute)
			c.Get(context.Background(), "b")
		}, Expired},
		{"expired (ExpireAfter)", Options[string, string]{ExpireAfter: func(string, string) time.Duration { return time.Minute }}, func(c *KeyedCache[string, string]) {
			time.Sleep(time.Minute)
			c.Get(context.Background(), "b")
		}, Expired},
		{"expired, found by its own Get", Options[string, string]{TTL: time.Minute}, func(c *KeyedCache[string, string]) {
			time.Sleep(time.Minute)
			c.Get(context.Background(), "a")
		}, Expired},
		{"deleted", Options[string, string]{}, func(c *KeyedCache[string, string]) {
			c.Delete("a")
		}, Deleted},
		{"replaced by Set", Options[string, string]{}, func(c *KeyedCache[string, string]) {
			c.Set("a", "x")
		}, Replaced},
		{"replaced by a refresh", Options[string, string]{RefreshAfter: time.Minute}, func(c *KeyedCache[string, string]) {
			time.Sleep(time.Minute)
			c.Get(context.Background(), "a")
			synctest.Wait()
		}, Replaced},
		{"cleared", Options[string, string]{}, func(c *KeyedCache[string, string]) {
			c.Clear()
		}, Cleared},
		{"closed", Options[string, string]{}, func(c *KeyedCache[string, string]) {
			c.Close()
		}, Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ld lcCounter
				log := &lcLog{}
				opts := tt.opts
				opts.OnEvict = log.add
				c := newCache(t, ld.load, &opts)
				ctx := context.Background()
				var releases []func()
				for range 3 {
					v, r, err := c.Acquire(ctx, "a")
					if v != "a#1" || err != nil {
						t.Fatalf("Acquire(a) = %q, %v; want a#1", v, err)
					}
					releases = append(releases, r)
				}
				tt.remove(c)
				if v, ok := c.Peek("a"); ok && v == "a#1" {
					t.Errorf("a#1 still live after its removal")
				}
				for _, e := range log.calls() {
					if e.key == "a" && e.val == "a#1" {
						t.Fatalf("OnEvict(a#1, %v) ran while 3 leases are held", e.why)
					}
				}
				if n := c.Stats().AwaitingRelease; n != 1 {
					t.Errorf("AwaitingRelease = %d with a removed leased value, want 1", n)
				}
				releases[0]()
				releases[1]()
				releases[0]()
				for _, e := range log.calls() {
					if e.key == "a" && e.val == "a#1" {
						t.Fatalf("OnEvict(a#1, %v) ran while 1 lease is held", e.why)
					}
				}
				log.take()
				var gid uint64
				done := make(chan struct{})
				go func() {
					gid = lcGoid()
					releases[2]()
					releases[2]()
					close(done)
				}()
				<-done
				calls := log.calls()
				if len(calls) != 1 || calls[0].String() != "a=a#1:"+tt.want.String() {
					t.Fatalf("OnEvict calls at the last release = %v, want [a=a#1:%v]", calls, tt.want)
				}
				if calls[0].gid != gid {
					t.Errorf("OnEvict ran in goroutine %d, want the releasing goroutine %d", calls[0].gid, gid)
				}
				if n := c.Stats().AwaitingRelease; n != 0 {
					t.Errorf("AwaitingRelease = %d after the last release, want 0", n)
				}
				c.Close()
				synctest.Wait()
				for _, e := range log.calls()[1:] {
					if e.val == "a#1" {
						t.Errorf("OnEvict(a#1) called again: %v", e)
					}
				}
			})
		})
	}
}

// TestLeaseOnAJoinedLoad takes leases through Acquires that join one load.
func TestLeaseOnAJoinedLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		log := &lcLog{}
		c := newCache(t, func(ctx context.Context, k string) (string, error) {
			<-unblock
			return "v", nil
		}, &Options[string, string]{OnEvict: log.add})
		ctx := cancellable(t)
		var wg sync.WaitGroup
		releases := make(chan func(), 4)
		for range 4 {
			wg.Go(func() {
				v, r, err := c.Acquire(ctx, "k")
				if v != "v" || err != nil {
					t.Errorf("Acquire = %q, %v", v, err)
				}
				releases <- r
			})
		}
		synctest.Wait()
		close(unblock)
		wg.Wait()
		close(releases)
		c.Delete("k")
		n := 0
		for r := range releases {
			if got := log.take(); got != nil {
				t.Fatalf("OnEvict %v with %d of 4 leases released", got, n)
			}
			r()
			n++
		}
		if got, want := log.take(), []string{"k=v:Deleted"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
	})
}

func TestCloseDoesNotWaitForLeases(t *testing.T) {
	var ld lcCounter
	log := &lcLog{}
	c := newCache(t, ld.load, &Options[string, string]{OnEvict: log.add})
	_, release, _ := c.Acquire(context.Background(), "a")
	c.Get(context.Background(), "b")
	returns(t, "Close with a lease held", func() { c.Close() })
	if got, want := log.take(), []string{"b=b#2:Closed"}; !slices.Equal(got, want) {
		t.Errorf("OnEvict calls at Close %v, want %v", got, want)
	}
	if n := c.Stats().AwaitingRelease; n != 1 {
		t.Errorf("AwaitingRelease after Close = %d, want 1", n)
	}
	release()
	if got, want := log.take(), []string{"a=a#1:Closed"}; !slices.Equal(got, want) {
		t.Errorf("OnEvict calls at release %v, want %v", got, want)
	}
}

// TestLeasesUnderConcurrency hammers Acquire, release, Delete, Set, Clear and
// the bound at once, and checks the promise of a lease: no value is disposed of
// (OnEvict) while a lease on it is held, every value gets at most one
// OnEvict, every value Set gets exactly one once the cache is closed, and
// none waits for a release after the last one.
func TestLeasesUnderConcurrency(t *testing.T) {
	type state struct {
		leases   int
		disposed int
	}
	var (
		mu      sync.Mutex
		vals    = map[int64]*state{}
		next    atomic.Int64
		setVals sync.Map // values stored by Set, which must each get one OnEvict
	)
	get := func(v int64) *state {
		s := vals[v]
		if s == nil {
			s = &state{}
			vals[v] = s
		}
		return s
	}
	c, err := New(func(_ context.Context, k int) (int64, error) {
		if k%11 == 0 {
			return 0, errors.New("unlucky")
		}
		return next.Add(1), nil
	}, &Options[int, int64]{MaxEntries: 8, OnEvict: func(k int, v int64, r Reason) {
		mu.Lock()
		defer mu.Unlock()
		s := get(v)
		if s.leases != 0 {
			t.Errorf("OnEvict(%d, %d, %v) with %d leases held", k, v, r, s.leases)
		}
		s.disposed++
		if s.disposed > 1 {
			t.Errorf("OnEvict(%d, %d, %v): call %d for that value", k, v, r, s.disposed)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		ctx := context.Background()
		if w%2 == 1 {
			ctx = cancellable(t)
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			var held []func()
			for i := range 3000 {
				k := rng.IntN(24)
				switch op := rng.IntN(20); {
				case op < 9:
					v, release, err := c.Acquire(ctx, k)
					if err != nil {
						release()
						continue
					}
					mu.Lock()
					s := get(v)
					if s.disposed != 0 {
						t.Errorf("Acquire(%d) returned %d, already disposed of", k, v)
					}
					s.leases++
					mu.Unlock()
					held = append(held, func() {
						mu.Lock()
						s.leases--
						if s.disposed != 0 {
							t.Errorf("value %d disposed of while leased", v)
						}
						mu.Unlock()
						release()
						release()
					})
				case op < 13 && len(held) > 0:
					j := rng.IntN(len(held))
					held[j]()
					held = slices.Delete(held, j, j+1)
				case op < 15:
					c.Delete(k)
				case op < 16:
					v := next.Add(1)
					if c.Set(k, v) == nil {
						setVals.Store(v, true)
					}
				case op < 17 && i%97 == 0:
					c.Clear()
				default:
					c.Get(ctx, k)
				}
			}
			for _, r := range held {
				r()
			}
		})
	}
	wg.Wait()
	c.Close()
	if n := c.Stats().AwaitingRelease; n != 0 {
		t.Errorf("AwaitingRelease = %d after every release, want 0", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for v, s := range vals {
		if s.leases != 0 {
			t.Errorf("test bug: value %d has %d leases", v, s.leases)
		}
	}
	setVals.Range(func(v, _ any) bool {
		if s := vals[v.(int64)]; s == nil || s.disposed != 1 {
			t.Errorf("value %d stored by Set: not exactly one OnEvict (%+v)", v, s)
		}
		return true
	})

}

// TestAcquireOfAStaleLoad deletes the key while its load runs: the Acquire
// receives the value, which was never stored and never gets OnEvict.
func TestAcquireOfAStaleLoad(t *testing.T) {
	for _, name := range []string{"Delete", "Clear", "Set"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				unblock := make(chan struct{})
				log := &lcLog{}
				c := newCache(t, func(ctx context.Context, k string) (string, error) {
					<-unblock
					return "loaded", nil
				}, &Options[string, string]{OnEvict: log.add})
				type result struct {
					v   string
					r   func()
					err error
				}
				got := make(chan result, 2)
				for _, ctx := range []context.Context{context.Background(), cancellable(t)} {
					go func() {
						v, r, err := c.Acquire(ctx, "k")
						got <- result{v, r, err}
					}()
				}
				synctest.Wait()
				switch name {
				case "Delete":
					c.Delete("k")
				case "Clear":
					c.Clear()
				case "Set":
					c.Set("k", "set")
				}
				close(unblock)
				for range 2 {
					r := <-got
					if r.v != "loaded" || r.err != nil || r.r == nil {
						t.Fatalf("Acquire = %q, %v; want the stale load's value", r.v, r.err)
					}
					r.r()
					r.r()
				}
				if n := c.Stats().AwaitingRelease; n != 0 {
					t.Errorf("AwaitingRelease = %d, want 0", n)
				}
				c.Close()
				for _, e := range log.calls() {
					if e.val == "loaded" {
						t.Errorf("OnEvict(%v) for a value never stored", e)
					}
				}
				if name == "Set" {
					if got, want := log.take(), []string{"k=set:Closed"}; !slices.Equal(got, want) {
						t.Errorf("OnEvict calls %v, want %v", got, want)
					}
				}
			})
		})
	}
}

func TestAcquireOfNaN(t *testing.T) {
	var calls atomic.Int32
	var evicted atomic.Int32
	c := newCache(t, func(_ context.Context, k float64) (int32, error) {
		return calls.Add(1), nil
	}, &Options[float64, int32]{OnEvict: func(float64, int32, Reason) { evicted.Add(1) }})
	nan := math.NaN()
	for i, ctx := range []context.Context{context.Background(), cancellable(t), context.Background()} {
		v, release, err := c.Acquire(ctx, nan)
		if v != int32(i+1) || err != nil || release == nil {
			t.Fatalf("Acquire(NaN) #%d = %d, %v; want a fresh load %d", i, v, err, i+1)
		}
		release()
		release()
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len() = %d, want 0: NaN is never stored", n)
	}
	if err := c.Set(nan, 9); err == nil {
		t.Errorf("Set(NaN) = nil, want an error")
	}
	c.Close()
	if s := c.Stats(); s.AwaitingRelease != 0 || evicted.Load() != 0 {
		t.Errorf("AwaitingRelease %d, OnEvict calls %d; want 0, 0", s.AwaitingRelease, evicted.Load())
	}
}

func TestExpireAfterGivesEachValueItsLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		life := map[string]time.Duration{"a": time.Second, "b": time.Hour, "c": 3 * time.Second}
		log := &lcLog{}
		var ld lcCounter
		c := newCache(t, ld.load, &Options[string, string]{
			TTL:         2 * time.Second, // replaced by ExpireAfter
			ExpireAfter: func(k, _ string) time.Duration { return life[k] },
			OnEvict:     log.add,
		})
		ctx := context.Background()
		for _, k := range []string{"a", "b", "c"} {
			c.Get(ctx, k)
		}
		steps := []struct {
			at   time.Duration
			keys []string
		}{
			{999 * time.Millisecond, []string{"a", "b", "c"}},
			{time.Second, []string{"b", "c"}},
			{2 * time.Second, []string{"b", "c"}},
			{3*time.Second - 1, []string{"b", "c"}},
			{3 * time.Second, []string{"b"}},
			{time.Hour - 1, []string{"b"}},
			{time.Hour, nil},
		}
		start := time.Now()
		for _, s := range steps {
			time.Sleep(s.at - time.Since(start))
			if got := c.Keys(); !slices.Equal(got, s.keys) {
				t.Errorf("at %v: Keys() = %v, want %v", s.at, got, s.keys)
			}
			if n := c.Len(); n != len(s.keys) {
				t.Errorf("at %v: Len() = %d, want %d", s.at, n, len(s.keys))
			}
		}
		if got := log.take(); got != nil {
			t.Errorf("reads called OnEvict: %v", got)
		}
		c.Delete("nothing") // sweeps, in no particular order
		got := log.take()
		slices.Sort(got)
		if want := []string{"a=a#1:Expired", "b=b#2:Expired", "c=c#3:Expired"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
		if s := c.Stats(); s.Expirations != 3 {
			t.Errorf("Expirations = %d, want 3", s.Expirations)
		}
	})
}

// TestExpireAfterZero: a value born expired goes to every Get waiting on its
// load, is not kept, and gets OnEvict(Expired) once.
func TestExpireAfterZero(t *testing.T) {
	for _, life := range []time.Duration{0, -time.Second, math.MinInt64} {
		t.Run(life.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				unblock := make(chan struct{})
				var calls atomic.Int32
				log := &lcLog{}
				c := newCache(t, func(ctx context.Context, k string) (string, error) {
					n := calls.Add(1)
					if n == 1 {
						<-unblock
					}
					return "v" + strconv.Itoa(int(n)), nil
				}, &Options[string, string]{
					ExpireAfter: func(k, v string) time.Duration { return life },
					OnEvict:     log.add,
				})
				var wg sync.WaitGroup
				for i := range 5 {
					ctx := context.Background()
					if i%2 == 1 {
						ctx = cancellable(t)
					}
					wg.Go(func() {
						if v, err := c.Get(ctx, "k"); v != "v1" || err != nil {
							t.Errorf("waiter %d: Get = %q, %v; want v1", i, v, err)
						}
					})
				}
				synctest.Wait()
				close(unblock)
				wg.Wait()
				if _, ok := c.Peek("k"); ok {
					t.Errorf("Peek found a value born expired")
				}
				if n := c.Len(); n != 0 {
					t.Errorf("Len() = %d, want 0", n)
				}
				if got, want := log.take(), []string{"k=v1:Expired"}; !slices.Equal(got, want) {
					t.Errorf("OnEvict calls %v, want %v", got, want)
				}
				if v, _ := c.Get(context.Background(), "k"); v != "v2" {
					t.Errorf("next Get = %q, want a new load v2", v)
				}
				if got, want := log.take(), []string{"k=v2:Expired"}; !slices.Equal(got, want) {
					t.Errorf("OnEvict calls %v, want %v", got, want)
				}
				// Leased, its OnEvict waits for the release.
				v, release, err := c.Acquire(context.Background(), "k")
				if v != "v3" || err != nil {
					t.Fatalf("Acquire = %q, %v; want v3", v, err)
				}
				if got := log.take(); got != nil {
					t.Errorf("OnEvict %v while leased", got)
				}
				release()
				if got, want := log.take(), []string{"k=v3:Expired"}; !slices.Equal(got, want) {
					t.Errorf("OnEvict calls at release %v, want %v", got, want)
				}
				if err := c.Set("s", "set"); err != nil {
					t.Fatal(err)
				}
				if got, want := log.take(), []string{"s=set:Expired"}; !slices.Equal(got, want) {
					t.Errorf("OnEvict calls after Set %v, want %v", got, want)
				}
				c.Close()
				if got := log.take(); got != nil {
					t.Errorf("OnEvict calls at Close %v, want none", got)
				}
				if s := c.Stats(); s.Expirations != 4 || s.Entries != 0 {
					t.Errorf("Stats() = %+v, want 4 expirations, 0 entries", s)
				}
			})
		})
	}
}

// TestExpireAfterCalls counts ExpireAfter's calls, one per stored value,
// and calls the cache from inside it.
func TestExpireAfterCalls(t *testing.T) {
	var calls, loads atomic.Int32
	var c *KeyedCache[string, string]
	c = newCache(t, func(_ context.Context, k string) (string, error) {
		if k == "fail" {
			return "", errors.New("fail")
		}
		return k + strconv.Itoa(int(loads.Add(1))), nil
	}, &Options[string, string]{ExpireAfter: func(k, v string) time.Duration {
		calls.Add(1)
		c.Len()
		c.Peek(k)
		c.Stats()
		c.Keys()
		return time.Hour
	}})
	returns(t, "Get with an ExpireAfter that calls the cache", func() {
		ctx := context.Background()
		for _, k := range []string{"a", "b", "a", "fail", "b", "c"} {
			c.Get(ctx, k)
		}
		c.Get(cancellable(t), "d")
		c.Set("a", "x")
		c.Set("e", "y")
		c.Acquire(ctx, "f")
	})
	if n := calls.Load(); n != 7 {
		t.Errorf("ExpireAfter calls = %d, want 7 (4 loads, 2 Sets, 1 Acquire)", n)
	}
	c.Close()
	c.Set("g", "z")
	if n := calls.Load(); n != 7 {
		t.Errorf("ExpireAfter calls = %d after a Set after Close, want 7", n)
	}
}

// TestExpireAfterHuge: a lifetime too large to add to the clock means never.
func TestExpireAfterHuge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &lcLog{}
		life := map[string]time.Duration{"max": math.MaxInt64, "later": math.MaxInt64, "almost": math.MaxInt64 - 1, "half": math.MaxInt64 / 2}
		c := newCache(t, func(_ context.Context, k string) (string, error) { return k, nil },
			&Options[string, string]{ExpireAfter: func(k, _ string) time.Duration { return life[k] }, OnEvict: log.add})
		ctx := context.Background()
		c.Get(ctx, "max")         // at the cache's birth
		time.Sleep(oneNanosecond) // just past a lifetime that ends on the nanosecond
		c.Get(ctx, "later")
		c.Get(ctx, "almost")
		c.Get(ctx, "half") // expires at MaxInt64/2 + 1ns
		for _, d := range []time.Duration{time.Hour, 1000 * time.Hour, math.MaxInt64/2 - 1001*time.Hour - 1} {
			time.Sleep(d)
			c.Delete("nothing") // sweeps
		}
		if got := log.take(); got != nil {
			t.Errorf("OnEvict %v before the half-life", got)
		}
		if got, want := c.Keys(), []string{"max", "later", "almost", "half"}; !slices.Equal(got, want) {
			t.Errorf("Keys() = %v, want %v", got, want)
		}
		time.Sleep(oneNanosecond) // just past a lifetime that ends on the nanosecond
		c.Delete("nothing")
		if got, want := log.take(), []string{"half=half:Expired"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
		time.Sleep(1000 * time.Hour)
		c.Delete("nothing")
		if got := log.take(); got != nil {
			t.Errorf("OnEvict %v for a value that never expires", got)
		}
		if got, want := c.Keys(), []string{"max", "later", "almost"}; !slices.Equal(got, want) {
			t.Errorf("Keys() = %v, want %v", got, want)
		}
	})
}

// TestExpireAfterSweepsManyLifetimes stores many values with random
// lifetimes, then advances the clock in random steps, and compares what the
// cache shows and removes with a reference.
func TestExpireAfterSweepsManyLifetimes(t *testing.T) {
	const n = 10000
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0))
				lives := make([]time.Duration, n)
				for i := range lives {
					// Lifetimes on every scale, from 1ns to about 20 hours.
					lives[i] = time.Duration(1 + rng.Int64N(int64(1)<<rng.IntN(47)))
				}
				var mu sync.Mutex
				evicted := make([]int, n)
				wrong := 0
				start := time.Now()
				c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
					ExpireAfter: func(k, _ int) time.Duration { return lives[k] },
					OnEvict: func(k, v int, r Reason) {
						mu.Lock()
						defer mu.Unlock()
						evicted[k]++
						if r != Expired || time.Since(start) < lives[k] {
							wrong++
						}
					},
				})
				ctx := context.Background()
				for k := range n {
					if k%2 == 0 {
						c.Get(ctx, k)
					} else {
						c.Set(k, k)
					}
				}
				now := time.Duration(0)
				for step := 0; step < 300; step++ {
					d := time.Duration(rng.Int64N(int64(1) << rng.IntN(47)))
					time.Sleep(d)
					now += d
					live := 0
					for k := range n {
						want := lives[k] > now
						if want {
							live++
						}
						if _, ok := c.Peek(k); ok != want && step%10 == 0 {
							t.Fatalf("step %d, at %v: Peek(%d) = %v, want %v (lifetime %v)", step, now, k, ok, want, lives[k])
						}
					}
					if got := c.Len(); got != live {
						t.Fatalf("step %d, at %v: Len() = %d, want %d", step, now, got, live)
					}
					if step%3 == 0 {
						c.Delete(-1) // sweeps
						mu.Lock()
						for k := range n {
							want := 0
							if lives[k] <= now {
								want = 1
							}
							if evicted[k] != want {
								mu.Unlock()
								t.Fatalf("step %d, at %v: %d OnEvict calls for key %d with lifetime %v, want %d", step, now, evicted[k], k, lives[k], want)
							}
						}
						if wrong != 0 {
							mu.Unlock()
							t.Fatalf("%d OnEvict calls early or with a reason other than Expired", wrong)
						}
						mu.Unlock()
						if got := len(c.Keys()); got != live {
							t.Fatalf("step %d: len(Keys()) = %d, want %d", step, got, live)
						}
					}
				}
				if s := c.Stats(); s.Expirations > n {
					t.Errorf("Expirations = %d for %d values", s.Expirations, n)
				}
			})
		})
	}
}

// refreshLoader is a Loader whose calls can be held, failed and counted.
type refreshLoader struct {
	mu      sync.Mutex
	calls   int
	gate    chan struct{} // if not nil, calls wait for it (or their ctx)
	fail    bool
	lastCtx context.Context
	ctxErr  error // the ctx's error when the held call returned
}

func (l *refreshLoader) load(ctx context.Context, k string) (string, error) {
	l.mu.Lock()
	l.calls++
	n, gate, fail := l.calls, l.gate, l.fail
	l.lastCtx = ctx
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			l.mu.Lock()
			l.ctxErr = ctx.Err()
			l.mu.Unlock()
			return "", ctx.Err()
		}
	}
	if fail {
		return "", errors.New("refresh failed")
	}
	return fmt.Sprintf("%s#%d", k, n), nil
}

func (l *refreshLoader) set(gate chan struct{}, fail bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate, l.fail = gate, fail
}

func (l *refreshLoader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

func TestRefreshOncePerKey(t *testing.T) {
	for _, acquire := range []bool{false, true} {
		t.Run(fmt.Sprint("acquire=", acquire), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ld := &refreshLoader{}
				log := &lcLog{}
				c := newCache(t, ld.load, &Options[string, string]{TTL: 10 * time.Second, RefreshAfter: 5 * time.Second, OnEvict: log.add})
				ctx := context.Background()
				c.Get(ctx, "k")
				time.Sleep(4 * time.Second)
				c.Get(ctx, "k")
				synctest.Wait()
				if n := ld.count(); n != 1 {
					t.Fatalf("a hit on a value younger than RefreshAfter called the Loader: %d calls", n)
				}
				time.Sleep(time.Second)
				gate := make(chan struct{})
				ld.set(gate, false)
				var wg sync.WaitGroup
				for i := range 50 {
					ctx := context.Background()
					if i%2 == 0 {
						ctx = cancellable(t)
					}
					wg.Go(func() {
						if acquire {
							v, release, err := c.Acquire(ctx, "k")
							if v != "k#1" || err != nil {
								t.Errorf("Acquire = %q, %v; want the old value k#1", v, err)
							}
							release()
							return
						}
						if v, err := c.Get(ctx, "k"); v != "k#1" || err != nil {
							t.Errorf("Get = %q, %v; want the old value k#1", v, err)
						}
					})
				}
				wg.Wait()
				synctest.Wait() // the refresh's Loader call is held
				if s := c.Stats(); s.Refreshes != 1 || s.Hits != 51 || s.Misses != 1 {
					t.Errorf("Stats() = %+v, want 1 refresh, 51 hits, 1 miss", s)
				}
				if n := ld.count(); n != 2 {
					t.Errorf("Loader calls = %d, want 2 (a load and one refresh)", n)
				}
				close(gate)
				synctest.Wait()
				if v, _ := c.Peek("k"); v != "k#2" {
					t.Errorf("Peek after the refresh = %q, want k#2", v)
				}
				if got, want := log.take(), []string{"k=k#1:Replaced"}; !slices.Equal(got, want) {
					t.Errorf("OnEvict calls %v, want %v", got, want)
				}
				if s := c.Stats(); s.Loads != 2 || s.Entries != 1 {
					t.Errorf("Stats() = %+v, want 2 loads, 1 entry", s)
				}
				// The new value's lifetime starts at the refresh: it lives until 15s.
				time.Sleep(10*time.Second - 1)
				if _, ok := c.Peek("k"); !ok {
					t.Errorf("the refreshed value expired before its own TTL")
				}
				time.Sleep(oneNanosecond)
				if _, ok := c.Peek("k"); ok {
					t.Errorf("the refreshed value outlived its TTL")
				}
			})
		})
	}
}

// TestRefreshFailureKeepsTheOldValue: the old value stays until it expires,
// and a failed refresh is not retried before another RefreshAfter.
func TestRefreshFailureKeepsTheOldValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ld := &refreshLoader{}
		log := &lcLog{}
		c := newCache(t, ld.load, &Options[string, string]{TTL: time.Minute, RefreshAfter: 10 * time.Second, OnEvict: log.add})
		ctx := context.Background()
		c.Get(ctx, "k")
		ld.set(nil, true)
		time.Sleep(10 * time.Second)
		if v, err := c.Get(ctx, "k"); v != "k#1" || err != nil {
			t.Fatalf("Get = %q, %v; want k#1", v, err)
		}
		synctest.Wait()
		if n := ld.count(); n != 2 {
			t.Fatalf("Loader calls = %d, want 2", n)
		}
		// Hits in a tight loop for just under another RefreshAfter: no retry.
		for range 999 {
			time.Sleep(10 * time.Millisecond)
			if v, err := c.Get(ctx, "k"); v != "k#1" || err != nil {
				t.Fatalf("Get = %q, %v; want the old value", v, err)
			}
			synctest.Wait()
		}
		if n := ld.count(); n != 2 {
			t.Errorf("Loader calls = %d within RefreshAfter of a failed refresh, want 2 (no retry)", n)
		}
		time.Sleep(10 * time.Millisecond) // another RefreshAfter since the failure
		c.Get(ctx, "k")
		synctest.Wait()
		if n := ld.count(); n != 3 {
			t.Errorf("Loader calls = %d after another RefreshAfter, want 3 (one retry)", n)
		}
		if s := c.Stats(); s.Refreshes != 2 || s.LoadErrors != 2 || s.Loads != 1 {
			t.Errorf("Stats() = %+v, want 2 refreshes, 2 load errors, 1 load", s)
		}
		if got := log.take(); got != nil {
			t.Errorf("OnEvict calls %v, want none", got)
		}
		time.Sleep(time.Minute - 20*time.Second - 1)
		if _, ok := c.Peek("k"); !ok {
			t.Errorf("the old value expired early")
		}
		time.Sleep(oneNanosecond)
		if _, ok := c.Peek("k"); ok {
			t.Errorf("the old value outlived its TTL")
		}
		ld.set(nil, false)
		if v, _ := c.Get(ctx, "k"); v != "k#4" {
			t.Errorf("Get after expiry = %q, want a new load k#4", v)
		}
		if got, want := log.take(), []string{"k=k#1:Expired"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
	})
}

// TestGetJoinsTheRefreshOfAnExpiredValue: a Get (or Acquire) of a value that
// expired while its refresh was in flight joins that refresh instead of
// starting a second load, and counts as one shared miss.
func TestGetJoinsTheRefreshOfAnExpiredValue(t *testing.T) {
	for _, acquire := range []bool{false, true} {
		t.Run(fmt.Sprint("acquire=", acquire), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ld := &refreshLoader{}
				log := &lcLog{}
				c := newCache(t, ld.load, &Options[string, string]{TTL: 10 * time.Second, RefreshAfter: 5 * time.Second, OnEvict: log.add})
				ctx := context.Background()
				c.Get(ctx, "k")
				time.Sleep(6 * time.Second)
				gate := make(chan struct{})
				ld.set(gate, false)
				c.Get(ctx, "k") // starts the refresh
				time.Sleep(5 * time.Second)
				before := c.Stats()
				got := make(chan string, 1)
				go func() {
					if acquire {
						v, release, err := c.Acquire(ctx, "k")
						if err != nil {
							t.Errorf("Acquire: %v", err)
						}
						c.Delete("k")
						for _, e := range log.calls() {
							if e.val == "k#2" {
								t.Errorf("OnEvict(%v) ran while leased", e)
							}
						}
						release()
						got <- v
						return
					}
					v, err := c.Get(ctx, "k")
					if err != nil {
						t.Errorf("Get: %v", err)
					}
					got <- v
				}()
				synctest.Wait()
				after := c.Stats()
				if after.Misses != before.Misses+1 || after.Shared != before.Shared+1 {
					t.Errorf("Stats() went from %+v to %+v; want one more miss and one more shared", before, after)
				}
				if n := ld.count(); n != 2 {
					t.Errorf("Loader calls = %d, want 2: the Get must join the refresh", n)
				}
				close(gate)
				if v := <-got; v != "k#2" {
					t.Errorf("joined Get = %q, want the refresh's k#2", v)
				}
				synctest.Wait()
				if n := ld.count(); n != 2 {
					t.Errorf("Loader calls = %d, want 2", n)
				}
				want := []string{"k=k#1:Expired"}
				if acquire {
					want = append(want, "k=k#2:Deleted")
				}
				if got := log.take(); !slices.Equal(got, want) {
					t.Errorf("OnEvict calls %v, want %v", got, want)
				}
			})
		})
	}
}

// TestJoinedGetLeavingDoesNotCancelTheRefresh: a Get that joined a refresh
// and leaves does not cancel it; the refresh still stores its value.
func TestJoinedGetLeavingDoesNotCancelTheRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ld := &refreshLoader{}
		c := newCache(t, ld.load, &Options[string, string]{TTL: 10 * time.Second, RefreshAfter: 5 * time.Second})
		c.Get(context.Background(), "k")
		time.Sleep(6 * time.Second)
		gate := make(chan struct{})
		ld.set(gate, false)
		c.Get(context.Background(), "k")
		time.Sleep(5 * time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := c.Get(ctx, "k")
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Get = %v, want context.Canceled", err)
		}
		close(gate)
		synctest.Wait()
		if v, ok := c.Peek("k"); v != "k#2" || !ok {
			t.Errorf("Peek = %q, %v; want the refresh's value k#2 stored", v, ok)
		}
		if n := ld.count(); n != 2 {
			t.Errorf("Loader calls = %d, want 2", n)
		}
	})
}

// TestRefreshCancelledAndStale: Delete, Clear and Close cancel a refresh in
// flight and make it stale; Set makes it stale.
func TestRefreshCancelledAndStale(t *testing.T) {
	tests := []struct {
		name     string
		during   func(c *KeyedCache[string, string])
		cancels  bool
		want     string // Peek after the refresh ends; "" for none
		evictLog []string
	}{
		{"Delete", func(c *KeyedCache[string, string]) { c.Delete("k") }, true, "", []string{"k=k#1:Deleted"}},
		{"Clear", func(c *KeyedCache[string, string]) { c.Clear() }, true, "", []string{"k=k#1:Cleared"}},
		{"Close", func(c *KeyedCache[string, string]) { c.Close() }, true, "", []string{"k=k#1:Closed"}},
		// Set does not cancel the refresh: its value, k#2, which no Get
		// receives, leaves as Replaced once its Loader returns.
		{"Set", func(c *KeyedCache[string, string]) { c.Set("k", "set") }, false, "set", []string{"k=k#1:Replaced", "k=k#2:Replaced"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ld := &refreshLoader{}
				log := &lcLog{}
				c := newCache(t, ld.load, &Options[string, string]{RefreshAfter: time.Second, OnEvict: log.add})
				c.Get(context.Background(), "k")
				time.Sleep(time.Second)
				gate := make(chan struct{})
				ld.set(gate, false)
				c.Get(context.Background(), "k") // starts the refresh
				synctest.Wait()
				ld.mu.Lock()
				rctx := ld.lastCtx
				ld.mu.Unlock()
				tt.during(c) // Close returns once the cancelled Loader has
				synctest.Wait()
				if tt.cancels {
					if rctx.Err() == nil {
						t.Fatalf("%s did not cancel the refresh's ctx", tt.name)
					}
				} else if rctx.Err() != nil {
					t.Errorf("%s cancelled the refresh's ctx: %v", tt.name, rctx.Err())
				}
				close(gate)
				synctest.Wait()
				if v, _ := c.Peek("k"); v != tt.want {
					t.Errorf("Peek after the refresh = %q, want %q", v, tt.want)
				}
				if got := log.take(); !slices.Equal(got, tt.evictLog) {
					t.Errorf("OnEvict calls %v, want %v", got, tt.evictLog)
				}
				if tt.name != "Close" {
					v, _ := c.Get(context.Background(), "k")
					if want := tt.want; want == "" && v != "k#3" || want != "" && v != want {
						t.Errorf("Get after the refresh = %q", v)
					}
				}
				c.Close()
				// k#2 left once (Set), in evictLog, or never (a cancelled
				// refresh's Loader here returns ctx.Err()): not again.
				for _, e := range log.calls() {
					if e.val == "k#2" {
						t.Errorf("OnEvict(%v) for the stale refresh's value, after evictLog", e)
					}
				}
			})
		})
	}
}

// TestStaleRefreshValueLeavesOnce: a refresh that no Get joined, made stale
// by Delete, Clear, Close or Set, whose Loader returns a value all the same
// (it ignores its context): no Get receives that value, so it leaves as a
// stored one would, with one OnEvict whose reason is the call's; for
// Close, before Close returns. Without it, a value that holds a resource
// (a client, a pool) would be dropped with nobody to release it.
func TestStaleRefreshValueLeavesOnce(t *testing.T) {
	for _, tt := range []struct {
		name   string
		during func(c *KeyedCache[string, string])
		why    Reason
	}{
		{"Delete", func(c *KeyedCache[string, string]) { c.Delete("k") }, Deleted},
		{"Clear", func(c *KeyedCache[string, string]) { c.Clear() }, Cleared},
		{"Close", func(c *KeyedCache[string, string]) { c.Close() }, Closed},
		{"Set", func(c *KeyedCache[string, string]) { c.Set("k", "set") }, Replaced},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				var calls atomic.Int32
				log := &lcLog{}
				c := newCache(t, func(ctx context.Context, k string) (string, error) {
					n := calls.Add(1)
					if n == 2 {
						<-gate // deaf to ctx
					}
					return fmt.Sprintf("%s#%d", k, n), nil
				}, &Options[string, string]{RefreshAfter: time.Second, OnEvict: log.add})
				c.Get(context.Background(), "k")
				time.Sleep(time.Second)
				c.Get(context.Background(), "k") // starts the refresh
				synctest.Wait()
				done := make(chan struct{})
				go func() { tt.during(c); close(done) }()
				synctest.Wait()
				if tt.name == "Close" {
					select {
					case <-done:
						t.Fatal("Close returned before the refresh's Loader did")
					default:
					}
				}
				close(gate)
				<-done
				synctest.Wait()
				n := 0
				for _, e := range log.calls() {
					if e.val == "k#2" {
						n++
						if e.why != tt.why {
							t.Errorf("OnEvict(k#2) with %v, want %v", e.why, tt.why)
						}
					}
				}
				if n != 1 {
					t.Errorf("%d OnEvict calls for k#2, the stale refresh's value, want 1 (calls %v)", n, log.take())
				}
				if v, ok := c.Peek("k"); tt.why == Replaced && v != "set" || tt.why != Replaced && ok {
					t.Errorf("Peek = %q, %v after the stale refresh", v, ok)
				}
			})
		})
	}
}

// TestCloseWaitsForARefresh: Close cancels a refresh and returns once its
// Loader has returned.
func TestCloseWaitsForARefresh(t *testing.T) {
	ld := &refreshLoader{}
	c := newCache(t, ld.load, &Options[string, string]{RefreshAfter: time.Nanosecond})
	c.Get(context.Background(), "k")
	ld.set(make(chan struct{}), false)
	deadline := time.Now().Add(10 * time.Second)
	for ld.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no refresh started within 10s")
		}
		c.Get(context.Background(), "k")
		time.Sleep(time.Millisecond)
	}
	returns(t, "Close during a refresh", func() { c.Close() })
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if ld.ctxErr == nil {
		t.Errorf("Close returned before the refresh's Loader saw its ctx cancelled")
	}
}

// TestRefreshContext: the refresh's ctx carries the values of the Get that
// triggered it, not its cancellation.
func TestRefreshContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		ld := &refreshLoader{}
		c := newCache(t, ld.load, &Options[string, string]{RefreshAfter: time.Second})
		c.Get(context.Background(), "k")
		time.Sleep(time.Second)
		gate := make(chan struct{})
		ld.set(gate, false)
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "trigger"))
		c.Get(ctx, "k")
		cancel()
		synctest.Wait()
		ld.mu.Lock()
		rctx := ld.lastCtx
		ld.mu.Unlock()
		if got := rctx.Value(key{}); got != "trigger" {
			t.Errorf("refresh ctx.Value = %v, want the triggering Get's value", got)
		}
		if err := rctx.Err(); err != nil {
			t.Errorf("refresh ctx.Err() = %v after the triggering Get's ctx ended, want nil", err)
		}
		if _, ok := rctx.Deadline(); ok {
			t.Errorf("refresh ctx has a deadline")
		}
		close(gate)
		synctest.Wait()
		if v, _ := c.Peek("k"); v != "k#2" {
			t.Errorf("Peek = %q, want k#2", v)
		}
	})
}

// TestRefreshWithExpireAfter: the refreshed value gets its own lifetime.
func TestRefreshWithExpireAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ld := &refreshLoader{}
		var calls atomic.Int32
		c := newCache(t, ld.load, &Options[string, string]{
			RefreshAfter: time.Second,
			ExpireAfter: func(k, v string) time.Duration {
				calls.Add(1)
				if v == "k#1" {
					return 2 * time.Second
				}
				return time.Hour
			},
		})
		c.Get(context.Background(), "k")
		time.Sleep(time.Second)
		c.Get(context.Background(), "k")
		synctest.Wait()
		time.Sleep(time.Hour - 1)
		if v, ok := c.Peek("k"); v != "k#2" || !ok {
			t.Errorf("Peek = %q, %v; want k#2 live for its hour", v, ok)
		}
		time.Sleep(oneNanosecond)
		if _, ok := c.Peek("k"); ok {
			t.Errorf("k#2 outlived its hour")
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("ExpireAfter calls = %d, want 2", n)
		}
	})
}

func TestSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ld lcCounter
		log := &lcLog{}
		c := newCache(t, ld.load, &Options[string, string]{MaxEntries: 2, TTL: time.Minute, OnEvict: log.add})
		ctx := context.Background()
		if err := c.Set("a", "set1"); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(ctx, "a"); v != "set1" || err != nil || ld.n.Load() != 0 {
			t.Errorf("Get after Set = %q, %v (%d loads); want set1 without a load", v, err, ld.n.Load())
		}
		c.Set("a", "set2")
		if got, want := log.take(), []string{"a=set1:Replaced"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
		time.Sleep(30 * time.Second)
		c.Set("b", "b")
		c.Get(ctx, "a") // b is now least recently used
		c.Set("c", "c")
		if got, want := log.take(), []string{"b=b:Evicted"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
		if got, want := c.Keys(), []string{"a", "c"}; !slices.Equal(got, want) {
			t.Errorf("Keys() = %v, want %v", got, want)
		}
		// Set's value lives as if loaded now.
		time.Sleep(30 * time.Second)
		if _, ok := c.Peek("a"); ok {
			t.Errorf("a outlived its TTL")
		}
		if _, ok := c.Peek("c"); !ok {
			t.Errorf("c expired early")
		}
		if s := c.Stats(); s.Entries != 1 || s.Evictions != 1 {
			t.Errorf("Stats() = %+v, want 1 entry, 1 eviction", s)
		}
	})
}

// TestSetMakesALoadStale: the waiters of a load in flight receive its
// result; the stored value is Set's.
func TestSetMakesALoadStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		log := &lcLog{}
		var calls atomic.Int32
		c := newCache(t, func(ctx context.Context, k string) (string, error) {
			calls.Add(1)
			<-unblock
			return "loaded", nil
		}, &Options[string, string]{OnEvict: log.add})
		got := make(chan string, 3)
		for i := range 3 {
			ctx := context.Background()
			if i > 0 {
				ctx = cancellable(t)
			}
			go func() {
				v, _ := c.Get(ctx, "k")
				got <- v
			}()
		}
		synctest.Wait()
		if err := c.Set("k", "set"); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(context.Background(), "k"); v != "set" || err != nil {
			t.Errorf("Get during the stale load = %q, %v; want set", v, err)
		}
		close(unblock)
		for range 3 {
			if v := <-got; v != "loaded" {
				t.Errorf("waiter got %q, want the load's own value", v)
			}
		}
		synctest.Wait()
		if v, _ := c.Peek("k"); v != "set" {
			t.Errorf("Peek = %q, want set", v)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("Loader calls = %d, want 1", n)
		}
		c.Close()
		if got, want := log.take(), []string{"k=set:Closed"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
	})
}

func TestSetAfterClose(t *testing.T) {
	for _, withExpireAfter := range []bool{false, true} {
		t.Run(fmt.Sprint("ExpireAfter=", withExpireAfter), func(t *testing.T) {
			log := &lcLog{}
			opts := &Options[string, string]{OnEvict: log.add}
			var calls atomic.Int32
			if withExpireAfter {
				opts.ExpireAfter = func(string, string) time.Duration { calls.Add(1); return time.Hour }
			}
			var ld lcCounter
			c := newCache(t, ld.load, opts)
			c.Close()
			if err := c.Set("a", "v"); !errors.Is(err, ErrClosed) {
				t.Errorf("Set after Close = %v, want ErrClosed", err)
			}
			if n := c.Len(); n != 0 {
				t.Errorf("Len() = %d, want 0", n)
			}
			if _, ok := c.Peek("a"); ok {
				t.Errorf("Peek found a value Set after Close")
			}
			if got := log.take(); got != nil {
				t.Errorf("OnEvict calls %v, want none: the caller keeps its value", got)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("ExpireAfter called %d times after Close", n)
			}
		})
	}
}

func TestSetWithExpireAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &lcLog{}
		c := newCache(t, (&lcCounter{}).load, &Options[string, string]{
			ExpireAfter: func(k, v string) time.Duration { d, _ := time.ParseDuration(v); return d },
			OnEvict:     log.add,
		})
		c.Set("a", "3s")
		c.Set("b", "1s")
		c.Set("c", "2s")
		time.Sleep(time.Second)
		if got, want := c.Keys(), []string{"a", "c"}; !slices.Equal(got, want) {
			t.Errorf("Keys() at 1s = %v, want %v", got, want)
		}
		c.Set("c", "1h") // replaces c, whose new value lives an hour from now
		time.Sleep(2 * time.Second)
		if got, want := c.Keys(), []string{"c"}; !slices.Equal(got, want) {
			t.Errorf("Keys() at 3s = %v, want %v", got, want)
		}
		c.Set("d", "1h")
		if got, want := log.take(), []string{"b=1s:Expired", "c=2s:Replaced", "a=3s:Expired"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
	})
}

func TestAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ld lcCounter
		log := &lcLog{}
		c := newCache(t, ld.load, &Options[string, string]{MaxEntries: 10, TTL: time.Minute, OnEvict: log.add})
		ctx := context.Background()
		for _, k := range []string{"a", "b", "c", "d"} {
			c.Get(ctx, k)
		}
		time.Sleep(30 * time.Second)
		c.Get(ctx, "e")
		c.Get(ctx, "b")
		c.Get(ctx, "a")
		time.Sleep(20 * time.Second)
		c.Delete("d")
		time.Sleep(5 * time.Second)
		c.Set("f", "f")
		time.Sleep(5 * time.Second) // a, b and c expire, unswept
		c.Get(ctx, "e")             // a buffered hit
		if got, want := log.take(), []string{"d=d#4:Deleted"}; !slices.Equal(got, want) {
			t.Fatalf("OnEvict calls %v, want %v", got, want)
		}
		keys := c.Keys()
		if want := []string{"f", "e"}; !slices.Equal(keys, want) {
			t.Fatalf("Keys() = %v, want %v", keys, want)
		}
		before := c.Stats()
		var got []string
		for k, v := range c.All() {
			got = append(got, k+"="+v)
		}
		if want := []string{"f=f", "e=e#5"}; !slices.Equal(got, want) {
			t.Errorf("All() = %v, want %v", got, want)
		}
		if s := c.Stats(); s != before {
			t.Errorf("All changed Stats from %+v to %+v", before, s)
		}
		if got := log.take(); got != nil {
			t.Errorf("All called OnEvict: %v", got)
		}
		if k := c.Keys(); !slices.Equal(k, keys) {
			t.Errorf("Keys() after All = %v, want %v", k, keys)
		}
	})
}

func TestAllOrderFollowsKeys(t *testing.T) {
	var ld lcCounter
	c := newCache(t, ld.load, &Options[string, string]{MaxEntries: 100})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		c.Get(ctx, strconv.Itoa(rng.IntN(150)))
		if rng.IntN(50) == 0 {
			keys := c.Keys()
			var all []string
			for k := range c.All() {
				all = append(all, k)
			}
			if !slices.Equal(all, keys) {
				t.Fatalf("All() order %v, Keys() %v", all, keys)
			}
			if again := c.Keys(); !slices.Equal(again, keys) {
				t.Fatalf("All changed the order: Keys() %v, then %v", keys, again)
			}
		}
	}
}

func TestAllBreakAndReentry(t *testing.T) {
	var ld lcCounter
	log := &lcLog{}
	c := newCache(t, ld.load, &Options[string, string]{OnEvict: log.add})
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d"} {
		c.Get(ctx, k)
	}
	n := 0
	for range c.All() {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("break after 2: %d iterations", n)
	}
	var got []string
	returns(t, "All with a body that calls the cache", func() {
		for k, v := range c.All() {
			got = append(got, k+"="+v)
			switch k {
			case "a":
				c.Get(ctx, "a")
				c.Get(ctx, "new")
				c.Set("z", "z")
			case "b":
				c.Delete("b")
				for range c.All() {
				}
				c.Keys()
				c.Len()
				c.Stats()
			case "c":
				c.Clear()
				c.Close()
			}
		}
	})
	if want := []string{"a=a#1", "b=b#2", "c=c#3", "d=d#4"}; !slices.Equal(got, want) {
		t.Errorf("All() = %v, want the values as of when iteration started %v", got, want)
	}
	if _, err := c.Get(ctx, "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close in All = %v", err)
	}
	n = 0
	for range c.All() {
		n++
	}
	if n != 0 {
		t.Errorf("All after Close yields %d values", n)
	}
}

// TestReadsHaveNoSideEffect: Len, Keys, Stats, Peek and All never call
// OnEvict nor count anything, even with expired values present.
func TestReadsHaveNoSideEffect(t *testing.T) {
	configs := []struct {
		name string
		opts Options[string, string]
	}{
		{"TTL", Options[string, string]{TTL: time.Minute}},
		{"TTL+MaxEntries", Options[string, string]{TTL: time.Minute, MaxEntries: 3}},
		{"ExpireAfter", Options[string, string]{ExpireAfter: func(k, _ string) time.Duration {
			if k == "a" {
				return time.Minute
			}
			return time.Second
		}}},
		{"ExpireAfter+RefreshAfter", Options[string, string]{RefreshAfter: time.Second, ExpireAfter: func(k, _ string) time.Duration {
			return time.Minute
		}}},
	}
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ld lcCounter
				log := &lcLog{}
				opts := cfg.opts
				opts.OnEvict = log.add
				c := newCache(t, ld.load, &opts)
				ctx := context.Background()
				for _, k := range []string{"a", "b", "c"} {
					c.Get(ctx, k)
				}
				var release func()
				_, release, _ = c.Acquire(ctx, "b")
				time.Sleep(2 * time.Minute)
				before := c.Stats()
				calls := ld.n.Load()
				for range 3 {
					c.Len()
					c.Keys()
					c.Stats()
					c.Peek("a")
					c.Peek("b")
					for range c.All() {
					}
				}
				synctest.Wait()
				if got := log.take(); got != nil {
					t.Errorf("reads called OnEvict: %v", got)
				}
				if s := c.Stats(); s != before {
					t.Errorf("reads changed Stats from %+v to %+v", before, s)
				}
				if s := c.Stats(); s.Entries != 0 || s.Expirations != 0 {
					t.Errorf("Stats() = %+v, want 0 entries (all expired), 0 expirations (none swept)", s)
				}
				if n := ld.n.Load(); n != calls {
					t.Errorf("reads called the Loader")
				}
				release()
				if got := log.take(); got != nil {
					t.Errorf("release of an expired but not removed value called OnEvict: %v", got)
				}
			})
		})
	}
}

// TestSetPublishesOnlyOnceStored races Set with lock-free Acquires and Gets
// of the same keys: a hit must never see a value that Set has not finished
// storing, and a lease taken on it must never be lost.
func TestSetPublishesOnlyOnceStored(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 1})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.Set(i%2, i)
		}
	})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for range 20000 {
				_, release, err := c.Acquire(context.Background(), 0)
				c.Get(context.Background(), 1)
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				release()
			}
		})
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	if n := c.Stats().AwaitingRelease; n != 0 {
		t.Errorf("AwaitingRelease = %d after every release, want 0: a lease was lost", n)
	}
}

// TestCloseWaitsForARefreshsCallbacks: the OnEvict(old, Replaced) that a
// refresh's goroutine runs is part of the refresh, which Close waits for.
func TestCloseWaitsForARefreshsCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inEvict := make(chan struct{})
		unblock := make(chan struct{})
		ld := &refreshLoader{}
		c := newCache(t, ld.load, &Options[string, string]{RefreshAfter: time.Second, OnEvict: func(k, v string, r Reason) {
			if r == Replaced {
				close(inEvict)
				<-unblock
			}
		}})
		c.Get(context.Background(), "k")
		time.Sleep(time.Second)
		c.Get(context.Background(), "k") // starts the refresh
		<-inEvict
		closed := make(chan struct{})
		go func() {
			c.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Errorf("Close returned while the refresh's goroutine still runs OnEvict(Replaced)")
		default:
		}
		close(unblock)
		<-closed
	})
}

// TestCloseFromARefreshsCallback: a Close called from the OnEvict that a
// refresh's goroutine runs returns, and so does a concurrent one.
func TestCloseFromARefreshsCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *KeyedCache[string, string]
		ld := &refreshLoader{}
		log := &lcLog{}
		c = newCache(t, ld.load, &Options[string, string]{RefreshAfter: time.Second, OnEvict: func(k, v string, r Reason) {
			log.add(k, v, r)
			if r == Replaced {
				c.Close()
			}
		}})
		c.Get(context.Background(), "k")
		time.Sleep(time.Second)
		c.Get(context.Background(), "k")
		synctest.Wait()
		c.Close()
		if got, want := log.take(), []string{"k=k#1:Replaced", "k=k#2:Closed"}; !slices.Equal(got, want) {
			t.Errorf("OnEvict calls %v, want %v", got, want)
		}
	})
}

// TestJoinedRefreshSurvivesDeleteAndClear: once a Get has joined the
// refresh of its expired value, Delete and Clear by others make the refresh
// stale, as they do a load, rather than fail the Get with a cancellation.
func TestJoinedRefreshSurvivesDeleteAndClear(t *testing.T) {
	for _, name := range []string{"Delete", "Clear"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ld := &refreshLoader{}
				log := &lcLog{}
				c := newCache(t, ld.load, &Options[string, string]{TTL: 10 * time.Second, RefreshAfter: 5 * time.Second, OnEvict: log.add})
				c.Get(context.Background(), "k")
				time.Sleep(6 * time.Second)
				gate := make(chan struct{})
				ld.set(gate, false)
				c.Get(context.Background(), "k") // starts the refresh
				time.Sleep(5 * time.Second)      // the old value expires
				type result struct {
					v   string
					err error
				}
				got := make(chan result, 1)
				go func() {
					v, err := c.Get(context.Background(), "k") // joins the refresh
					got <- result{v, err}
				}()
				synctest.Wait()
				if name == "Delete" {
					c.Delete("k")
				} else {
					c.Clear()
				}
				close(gate)
				if r := <-got; r.v != "k#2" || r.err != nil {
					t.Errorf("joined Get = %q, %v; want the refresh's k#2", r.v, r.err)
				}
				synctest.Wait()
				if _, ok := c.Peek("k"); ok {
					t.Errorf("the stale refresh's value was stored")
				}
				if v, _ := c.Get(context.Background(), "k"); v != "k#3" {
					t.Errorf("Get after %s = %q, want a fresh load k#3", name, v)
				}
				for _, e := range log.calls() {
					if e.val == "k#2" {
						t.Errorf("OnEvict(%v) for a stale refresh's value", e)
					}
				}
			})
		})
	}
}

// TestBornExpiredValueEvictsNothing: a value born expired is never kept, so
// it does not make room for itself.
func TestBornExpiredValueEvictsNothing(t *testing.T) {
	log := &lcLog{}
	c := newCache(t, func(_ context.Context, k string) (string, error) { return k, nil }, &Options[string, string]{
		MaxEntries: 1,
		ExpireAfter: func(k, _ string) time.Duration {
			if k == "once" {
				return 0
			}
			return time.Hour
		},
		OnEvict: log.add,
	})
	c.Get(context.Background(), "keep")
	c.Get(context.Background(), "once")
	c.Get(cancellable(t), "once")
	c.Set("once", "again")
	if got, want := log.take(), []string{"once=once:Expired", "once=once:Expired", "once=again:Expired"}; !slices.Equal(got, want) {
		t.Errorf("OnEvict calls %v, want %v", got, want)
	}
	if _, ok := c.Peek("keep"); !ok {
		t.Errorf("keep was evicted by values that were never kept")
	}
	if s := c.Stats(); s.Evictions != 0 || s.Expirations != 3 || s.Entries != 1 {
		t.Errorf("Stats() = %+v, want 0 evictions, 3 expirations, 1 entry", s)
	}
}

// TestPanickingExpireAfterFailsTheLoad: the Gets of the load receive a
// *PanicError, nothing is stored, and the key and Close stay usable.
func TestPanickingExpireAfterFailsTheLoad(t *testing.T) {
	var calls atomic.Int32
	c := newCache(t, func(_ context.Context, k string) (string, error) { return k + strconv.Itoa(int(calls.Add(1))), nil }, &Options[string, string]{
		ExpireAfter: func(k, v string) time.Duration {
			if v != "bad3" {
				panic("bad lifetime")
			}
			return time.Hour
		},
	})
	returns(t, "Gets of a key whose ExpireAfter panics", func() {
		for i, ctx := range []context.Context{context.Background(), cancellable(t)} {
			_, err := c.Get(ctx, "bad")
			var pe *PanicError
			if !errors.As(err, &pe) || pe.Value != "bad lifetime" {
				t.Errorf("Get #%d = %v, want a *PanicError with the ExpireAfter's panic", i, err)
			}
		}
		if v, err := c.Get(context.Background(), "bad"); v != "bad3" || err != nil {
			t.Errorf("Get = %q, %v; want bad3 from a third load", v, err)
		}
	})
	if s := c.Stats(); s.LoadErrors != 2 || s.Loads != 1 || s.Entries != 1 {
		t.Errorf("Stats() = %+v, want 2 load errors, 1 load, 1 entry", s)
	}
	returns(t, "Close", func() { c.Close() })
}

// oneNanosecond is a sleep that moves synctest's clock just past a
// deadline, on purpose.
var oneNanosecond = time.Nanosecond
