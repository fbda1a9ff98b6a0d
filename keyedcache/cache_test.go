package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// newCache returns a cache closed at the end of the test.
func newCache[K comparable, V any](t *testing.T, load Loader[K, V], opts *Options[K, V]) *KeyedCache[K, V] {
	t.Helper()
	c, err := New(load, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// evictLog records OnEvict calls.
type evictLog[K comparable, V any] struct {
	mu  sync.Mutex
	got []string
}

func (l *evictLog[K, V]) add(k K, v V, r Reason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%v=%v:%v", k, v, r))
}

func (l *evictLog[K, V]) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

func strlen(_ context.Context, k string) (int, error) { return len(k), nil }

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		load Loader[string, int]
		opts *Options[string, int]
		want string
	}{
		{"nil loader", nil, nil, "nil Loader"},
		{"negative MaxEntries", strlen, &Options[string, int]{MaxEntries: -1}, "MaxEntries is -1"},
		{"negative TTL", strlen, &Options[string, int]{TTL: -time.Second}, "TTL is -1s"},
		{"TinyLFU unbounded", strlen, &Options[string, int]{Policy: TinyLFU}, "TinyLFU needs a bound"},
		{"TinyLFU too large", strlen, &Options[string, int]{Policy: TinyLFU, MaxEntries: maxTinyLFUEntries + 1}, fmt.Sprintf("MaxEntries is %d; TinyLFU takes at most %d", maxTinyLFUEntries+1, maxTinyLFUEntries)},
		{"unknown policy", strlen, &Options[string, int]{Policy: 7, MaxEntries: 1}, "Policy is Policy(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.load, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "keyedcache: ") {
				t.Fatalf("New() error = %v, want one containing %q", err, tt.want)
			}
			if c != nil {
				t.Errorf("New() returned a cache with its error")
			}
		})
	}
}

func TestNewAcceptsZeroOptions(t *testing.T) {
	for _, opts := range []*Options[string, int]{nil, {}, {MaxEntries: 1, TTL: time.Nanosecond}} {
		c := newCache(t, strlen, opts)
		if v, err := c.Get(context.Background(), "abc"); v != 3 || err != nil {
			t.Errorf("Get(abc) with %+v = %v, %v; want 3, nil", opts, v, err)
		}
	}
}

func TestReasonString(t *testing.T) {
	tests := []struct {
		r    Reason
		want string
	}{
		{Evicted, "Evicted"}, {Expired, "Expired"}, {Deleted, "Deleted"},
		{Cleared, "Cleared"}, {Closed, "Closed"}, {0, "Reason(0)"}, {42, "Reason(42)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Reason(%d).String() = %q, want %q", int(tt.r), got, tt.want)
		}
	}
}

func TestGetHitsAndMisses(t *testing.T) {
	var calls atomic.Int32
	c := newCache(t, func(_ context.Context, k string) (string, error) {
		calls.Add(1)
		return strings.ToUpper(k), nil
	}, nil)
	ctx := context.Background()
	for i, k := range []string{"a", "b", "a", "a", "b", "c"} {
		v, err := c.Get(ctx, k)
		if err != nil || v != strings.ToUpper(k) {
			t.Fatalf("step %d: Get(%q) = %q, %v", i, k, v, err)
		}
	}
	got := c.Stats()
	want := Stats{Hits: 3, Misses: 3, Loads: 3, Entries: 3}
	got.LoadTime = 0
	if got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if calls.Load() != 3 {
		t.Errorf("loader calls = %d, want 3", calls.Load())
	}
	if r := got.HitRatio(); r != 0.5 {
		t.Errorf("HitRatio() = %v, want 0.5", r)
	}
	if r := (Stats{}).HitRatio(); r != 0 {
		t.Errorf("Stats{}.HitRatio() = %v, want 0", r)
	}
}

// TestOneLoadPerKey starts many Gets of one missing key and holds the
// loader until all of them wait on it.
func TestOneLoadPerKey(t *testing.T) {
	const n = 64
	release := make(chan struct{})
	var calls atomic.Int32
	c := newCache(t, func(_ context.Context, k int) (*int, error) {
		calls.Add(1)
		<-release
		v := k * 10
		return &v, nil
	}, nil)
	var wg sync.WaitGroup
	results := make([]*int, n)
	for i := range n {
		wg.Go(func() {
			v, err := c.Get(context.Background(), 7)
			if err != nil {
				t.Errorf("Get: %v", err)
			}
			results[i] = v
		})
	}
	waitFor(t, func() bool { return c.Stats().Misses == n })
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("loader calls = %d, want 1", calls.Load())
	}
	for i, p := range results {
		if p != results[0] || p == nil || *p != 70 {
			t.Fatalf("result %d = %p, want the one shared value %p (70)", i, p, results[0])
		}
	}
	s := c.Stats()
	if s.Shared != n-1 || s.Loads != 1 || s.Misses != n {
		t.Errorf("Stats() = %+v, want Shared %d, Loads 1, Misses %d", s, n-1, n)
	}
}

// waitFor polls cond, failing the test after a generous deadline. It is for
// waiting on other goroutines to reach a state, never for timing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSlowLoadDoesNotBlockOtherKeys(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := newCache(t, func(_ context.Context, k string) (string, error) {
		if k == "slow" {
			<-release
		}
		return k + "!", nil
	}, &Options[string, string]{MaxEntries: 10})
	ctx := context.Background()
	if _, err := c.Get(ctx, "hit"); err != nil {
		t.Fatal(err)
	}
	slowCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := c.Get(slowCtx, "slow"); done <- err }()
	waitFor(t, func() bool { return c.Stats().Misses == 2 })
	for _, k := range []string{"hit", "other", "hit", "other"} {
		if v, err := c.Get(ctx, k); v != k+"!" || err != nil {
			t.Errorf("Get(%q) beside a slow load = %q, %v", k, v, err)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Get of the slow key = %v, want context.Canceled", err)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	var calls atomic.Int32
	boom := errors.New("boom")
	c := newCache(t, func(_ context.Context, k string) (int, error) {
		if calls.Add(1) == 1 {
			return 0, boom
		}
		return 1, nil
	}, nil)
	if _, err := c.Get(context.Background(), "k"); !errors.Is(err, boom) {
		t.Fatalf("first Get error = %v, want boom", err)
	}
	if v, err := c.Get(context.Background(), "k"); v != 1 || err != nil {
		t.Fatalf("second Get = %v, %v; want 1, nil", v, err)
	}
	if s := c.Stats(); s.LoadErrors != 1 || s.Loads != 1 || s.Entries != 1 {
		t.Errorf("Stats() = %+v, want LoadErrors 1, Loads 1, Entries 1", s)
	}
}

// failingLoad builds a loader that fails in the given way once every Get in
// want has joined, and succeeds afterwards.
func TestLoaderFailuresReachEveryWaiter(t *testing.T) {
	sentinel := errors.New("sentinel")
	tests := []struct {
		name  string
		fail  func()
		check func(t *testing.T, err error)
	}{
		{"error", nil, func(t *testing.T, err error) {
			if !errors.Is(err, sentinel) {
				t.Errorf("err = %v, want sentinel", err)
			}
		}},
		{"panic value", func() { panic("kaboom") }, func(t *testing.T, err error) {
			var pe *PanicError
			if !errors.As(err, &pe) || pe.Value != "kaboom" {
				t.Fatalf("err = %#v, want *PanicError{Value: kaboom}", err)
			}
			if !strings.Contains(string(pe.Stack), "TestLoaderFailuresReachEveryWaiter") {
				t.Errorf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
			}
			if pe.Unwrap() != nil || !strings.Contains(pe.Error(), "kaboom") {
				t.Errorf("Unwrap() = %v, Error() = %q", pe.Unwrap(), pe.Error())
			}
		}},
		{"panic error", func() { panic(sentinel) }, func(t *testing.T, err error) {
			var pe *PanicError
			if !errors.As(err, &pe) || !errors.Is(err, sentinel) {
				t.Errorf("err = %v, want a *PanicError that unwraps to sentinel", err)
			}
		}},
		{"panic nil", func() { panic(nil) }, func(t *testing.T, err error) {
			var pe *PanicError
			var pn *runtime.PanicNilError
			if !errors.As(err, &pe) || !errors.As(err, &pn) {
				t.Errorf("err = %v, want a *PanicError holding *runtime.PanicNilError", err)
			}
		}},
		{"Goexit", runtime.Goexit, func(t *testing.T, err error) {
			if !errors.Is(err, ErrLoaderExited) {
				t.Errorf("err = %v, want ErrLoaderExited", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 8
			release := make(chan struct{})
			var calls atomic.Int32
			c := newCache(t, func(_ context.Context, k string) (string, error) {
				if calls.Add(1) > 1 {
					return "ok", nil
				}
				<-release
				if tt.fail != nil {
					tt.fail()
				}
				return "", sentinel
			}, nil)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := c.Get(context.Background(), "k")
					tt.check(t, err)
				})
			}
			waitFor(t, func() bool { return c.Stats().Misses == n })
			close(release)
			wg.Wait()
			if v, err := c.Get(context.Background(), "k"); v != "ok" || err != nil {
				t.Errorf("Get after the failure = %q, %v; want a fresh load", v, err)
			}
			if s := c.Stats(); s.LoadErrors != 1 || s.Loads != 1 || s.Shared != n-1 {
				t.Errorf("Stats() = %+v, want LoadErrors 1, Loads 1, Shared %d", s, n-1)
			}
		})
	}
}

type ctxKey struct{}

func TestCancellation(t *testing.T) {
	started := make(chan context.Context, 1)
	release := make(chan struct{})
	c := newCache(t, func(ctx context.Context, k string) (string, error) {
		started <- ctx
		select {
		case <-release:
			return "v", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}, nil)

	first, cancelFirst := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "first"))
	firstErr := make(chan error, 1)
	go func() { _, err := c.Get(first, "k"); firstErr <- err }()
	lctx := <-started
	if lctx.Value(ctxKey{}) != "first" {
		t.Errorf("loader context lacks the first caller's value")
	}
	second := make(chan string, 1)
	go func() {
		v, err := c.Get(context.Background(), "k")
		if err != nil {
			t.Errorf("second Get: %v", err)
		}
		second <- v
	}()
	waitFor(t, func() bool { return c.Stats().Shared == 1 })

	cancelFirst()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Get = %v, want context.Canceled", err)
	}
	if lctx.Err() != nil {
		t.Fatalf("loader context cancelled while a Get still waits")
	}
	close(release)
	if v := <-second; v != "v" {
		t.Errorf("remaining waiter got %q, want v", v)
	}
	if v, ok := c.Peek("k"); !ok || v != "v" {
		t.Errorf("Peek after the load = %q, %v; want v stored", v, ok)
	}
}

func TestCancellationOfEveryWaiterAbandonsTheLoad(t *testing.T) {
	// In a bubble, so that the 10 ms deadline below cannot pass before the
	// Get that carries it has started its load, however the machine stalls.
	synctest.Test(t, func(t *testing.T) {
		started := make(chan context.Context, 2)
		c := newCache(t, func(ctx context.Context, k string) (string, error) {
			started <- ctx
			<-ctx.Done()
			return "late", nil // a result after cancellation is not stored
		}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 2)
		for range 2 {
			go func() { _, err := c.Get(ctx, "k"); errc <- err }()
		}
		lctx := <-started
		waitFor(t, func() bool { return c.Stats().Misses == 2 })
		cancel()
		for range 2 {
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("Get = %v, want context.Canceled", err)
			}
		}
		<-lctx.Done() // cancelled once every waiter left
		waitFor(t, func() bool { return c.Stats().Loads == 1 })
		if _, ok := c.Peek("k"); ok {
			t.Errorf("an abandoned load was stored")
		}
		// A new Get starts afresh instead of joining the abandoned load.
		go func() {
			lctx := <-started
			<-lctx.Done()
		}()
		short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancelShort()
		if _, err := c.Get(short, "k"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get with a deadline = %v, want context.DeadlineExceeded", err)
		}
		waitFor(t, func() bool { return c.Stats().Loads == 2 })
	})
}

func TestGetWithDoneContext(t *testing.T) {
	var calls atomic.Int32
	c := newCache(t, func(_ context.Context, k string) (int, error) { calls.Add(1); return 1, nil }, nil)
	if _, err := c.Get(context.Background(), "hit"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v, err := c.Get(ctx, "hit"); v != 1 || err != nil {
		t.Errorf("hit with a done context = %v, %v; want the value", v, err)
	}
	if _, err := c.Get(ctx, "miss"); !errors.Is(err, context.Canceled) {
		t.Errorf("miss with a done context = %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("loader calls = %d, want 1: a done context starts no load", calls.Load())
	}
	//lint:ignore SA1012 checking that a nil context is an error, not a panic
	if _, err := c.Get(nil, "miss"); err == nil || !strings.Contains(err.Error(), "nil context") {
		t.Errorf("Get(nil ctx) = %v, want an error naming the nil context", err)
	}
}

// TestStaleLoads checks that Delete, Clear and Close during a load let its
// waiters have the result but keep it out of the cache.
func TestStaleLoads(t *testing.T) {
	tests := []struct {
		name   string
		during func(c *KeyedCache[string, string])
		after  string // what a fresh Get returns, "" for ErrClosed
	}{
		{"Delete", func(c *KeyedCache[string, string]) { c.Delete("k") }, "v2"},
		{"Clear", func(c *KeyedCache[string, string]) { c.Clear() }, "v2"},
		{"Close", func(c *KeyedCache[string, string]) {
			go c.Close() // waits for the load, which waits for release
			waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.closed })
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			var calls atomic.Int32
			c := newCache(t, func(ctx context.Context, k string) (string, error) {
				n := calls.Add(1)
				if n == 1 {
					<-release
				}
				return fmt.Sprintf("v%d", n), nil
			}, nil)
			got := make(chan string, 1)
			go func() {
				v, err := c.Get(context.Background(), "k")
				if err != nil {
					t.Errorf("waiter: %v", err)
				}
				got <- v
			}()
			waitFor(t, func() bool { return c.Stats().Misses == 1 })
			tt.during(c)
			close(release)
			if v := <-got; v != "v1" {
				t.Errorf("waiter got %q, want the stale load's v1", v)
			}
			v, err := c.Get(context.Background(), "k")
			if tt.after == "" {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("Get after Close = %q, %v; want ErrClosed", v, err)
				}
				return
			}
			if v != tt.after || err != nil {
				t.Errorf("Get after %s = %q, %v; want %q from a fresh load", tt.name, v, err, tt.after)
			}
		})
	}
}

// TestClearDuringConcurrentLoads checks the Clear guarantee under load: a Get
// that starts after Clear returns never sees a value loaded before it.
func TestClearDuringConcurrentLoads(t *testing.T) {
	var gen atomic.Int64
	c := newCache(t, func(_ context.Context, k int) (int64, error) {
		g := gen.Load()
		runtime.Gosched()
		return g, nil
	}, &Options[int, int64]{MaxEntries: 8})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				c.Get(ctx, (i+w)%12)
			}
		})
	}
	for range 200 {
		g := gen.Add(1)
		c.Clear()
		for k := range 12 {
			if v, err := c.Get(context.Background(), k); err == nil && v < g {
				t.Fatalf("after Clear %d, Get(%d) = value loaded at %d", g, k, v)
			}
		}
	}
	cancel()
	wg.Wait()
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	log := &evictLog[string, int]{}
	c := newCache(t, strlen, &Options[string, int]{MaxEntries: 3, OnEvict: log.add})
	ctx := context.Background()
	steps := []struct {
		op      string // "get k" or "peek k"
		keys    []string
		evicted []string
	}{
		{"get a", []string{"a"}, nil},
		{"get bb", []string{"a", "bb"}, nil},
		{"get ccc", []string{"a", "bb", "ccc"}, nil},
		{"get a", []string{"bb", "ccc", "a"}, nil},
		{"get dddd", []string{"ccc", "a", "dddd"}, []string{"bb=2:Evicted"}},
		{"peek ccc", []string{"ccc", "a", "dddd"}, nil},
		{"get eeeee", []string{"a", "dddd", "eeeee"}, []string{"ccc=3:Evicted"}},
		{"get dddd", []string{"a", "eeeee", "dddd"}, nil},
		{"get ff", []string{"eeeee", "dddd", "ff"}, []string{"a=1:Evicted"}},
	}
	for i, st := range steps {
		op, k, _ := strings.Cut(st.op, " ")
		if op == "get" {
			if v, err := c.Get(ctx, k); v != len(k) || err != nil {
				t.Fatalf("step %d %s: %v, %v", i, st.op, v, err)
			}
		} else if _, ok := c.Peek(k); !ok {
			t.Fatalf("step %d %s: not found", i, st.op)
		}
		if got := c.Keys(); !slices.Equal(got, st.keys) {
			t.Errorf("step %d %s: Keys() = %v, want %v", i, st.op, got, st.keys)
		}
		if got := log.take(); !slices.Equal(got, st.evicted) {
			t.Errorf("step %d %s: evicted %v, want %v", i, st.op, got, st.evicted)
		}
	}
	if s := c.Stats(); s.Evictions != 3 || s.Entries != 3 || c.Len() != 3 {
		t.Errorf("Stats() = %+v, Len() = %d; want 3 evictions, 3 entries", s, c.Len())
	}
}

// TestLRUExactAcrossGoroutines hands hits from goroutine to goroutine, never
// overlapping, and checks the order is exactly that of the hits.
func TestLRUExactAcrossGoroutines(t *testing.T) {
	const n = 50
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: n})
	ctx := context.Background()
	for k := range n {
		c.Get(ctx, k)
	}
	want := make([]int, 0, n)
	for i := range 3 * n {
		k := (i * 7) % n
		done := make(chan struct{})
		go func() { defer close(done); c.Get(ctx, k) }()
		<-done
		want = slices.DeleteFunc(want, func(x int) bool { return x == k })
		want = append(want, k)
	}
	if got := c.Keys(); !slices.Equal(got, want) {
		t.Errorf("Keys() = %v\nwant     %v", got, want)
	}
}

func TestKeysUnboundedOldestFirst(t *testing.T) {
	c := newCache(t, strlen, nil)
	for _, k := range []string{"c", "a", "b", "a"} {
		c.Get(context.Background(), k)
	}
	c.Delete("a")
	if got, want := c.Keys(), []string{"c", "b"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
}

func TestPeekIsInvisibleToStats(t *testing.T) {
	c := newCache(t, strlen, &Options[string, int]{MaxEntries: 2})
	c.Get(context.Background(), "a")
	before := c.Stats()
	for range 10 {
		if v, ok := c.Peek("a"); v != 1 || !ok {
			t.Fatalf("Peek(a) = %v, %v", v, ok)
		}
		if _, ok := c.Peek("missing"); ok {
			t.Fatalf("Peek(missing) found a value")
		}
	}
	if after := c.Stats(); after != before {
		t.Errorf("Stats changed by Peek: %+v -> %+v", before, after)
	}
	if c.Len() != 1 {
		t.Errorf("Peek loaded a value: Len() = %d", c.Len())
	}
}

func TestDelete(t *testing.T) {
	log := &evictLog[string, int]{}
	c := newCache(t, strlen, &Options[string, int]{OnEvict: log.add})
	c.Get(context.Background(), "ab")
	if !c.Delete("ab") {
		t.Errorf("Delete(ab) = false, want true")
	}
	if c.Delete("ab") || c.Delete("never") {
		t.Errorf("Delete of an absent key = true")
	}
	if got, want := log.take(), []string{"ab=2:Deleted"}; !slices.Equal(got, want) {
		t.Errorf("evicted %v, want %v", got, want)
	}
	if _, ok := c.Peek("ab"); ok || c.Len() != 0 {
		t.Errorf("value still there after Delete")
	}
}

func TestClearAndClose(t *testing.T) {
	log := &evictLog[string, int]{}
	c, err := New(strlen, &Options[string, int]{MaxEntries: 10, OnEvict: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.Get(ctx, "a")
	c.Get(ctx, "bb")
	c.Clear()
	if got, want := log.take(), []string{"a=1:Cleared", "bb=2:Cleared"}; !slices.Equal(got, want) {
		t.Errorf("Clear evicted %v, want %v", got, want)
	}
	if c.Len() != 0 || len(c.Keys()) != 0 {
		t.Errorf("after Clear: Len %d, Keys %v", c.Len(), c.Keys())
	}
	c.Get(ctx, "ccc")
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if got, want := log.take(), []string{"ccc=3:Closed"}; !slices.Equal(got, want) {
		t.Errorf("Close evicted %v, want %v", got, want)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if got := log.take(); got != nil {
		t.Errorf("second Close evicted %v", got)
	}
	if _, err := c.Get(ctx, "ccc"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if _, ok := c.Peek("ccc"); ok || c.Len() != 0 {
		t.Errorf("a value survived Close")
	}
}

// TestOnEvictMayCallTheCache calls back into the cache from the callback,
// which would deadlock if the callback ran under the cache's lock.
func TestOnEvictMayCallTheCache(t *testing.T) {
	var c *KeyedCache[string, int]
	var seen []string
	c = newCache(t, strlen, &Options[string, int]{MaxEntries: 1, OnEvict: func(k string, v int, r Reason) {
		seen = append(seen, fmt.Sprintf("%s:%v:len=%d", k, r, c.Len()))
		if r == Evicted {
			c.Delete(k)
			c.Peek(k)
			c.Stats()
		}
	}})
	c.Get(context.Background(), "a")
	c.Get(context.Background(), "b") // evicts a in the loader goroutine
	c.Delete("b")
	want := []string{"a:Evicted:len=1", "b:Deleted:len=0"}
	if !slices.Equal(seen, want) {
		t.Errorf("callbacks saw %v, want %v", seen, want)
	}
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &evictLog[string, int]{}
		var calls atomic.Int32
		c := newCache(t, func(_ context.Context, k string) (int, error) {
			return int(calls.Add(1)), nil
		}, &Options[string, int]{TTL: time.Minute, OnEvict: log.add})
		ctx := context.Background()
		c.Get(ctx, "a")
		time.Sleep(30 * time.Second)
		c.Get(ctx, "b")
		time.Sleep(29 * time.Second)
		if v, _ := c.Get(ctx, "a"); v != 1 {
			t.Errorf("a after 59s = %d, want the first value", v)
		}
		time.Sleep(time.Second) // a is exactly one minute old
		if _, ok := c.Peek("a"); ok {
			t.Errorf("Peek found a at its TTL")
		}
		if got := log.take(); got != nil {
			t.Errorf("Peek removed %v; it must not", got)
		}
		if got, want := c.Keys(), []string{"b"}; !slices.Equal(got, want) {
			t.Errorf("Keys() = %v, want %v", got, want)
		}
		if n := c.Len(); n != 1 {
			t.Errorf("Len() = %d, want 1 (a expired)", n)
		}
		if got := log.take(); got != nil {
			t.Errorf("Keys or Len removed %v; they must not", got)
		}
		if v, _ := c.Get(ctx, "a"); v != 3 {
			t.Errorf("a after expiry = %d, want a reload (3)", v)
		}
		if got, want := log.take(), []string{"a=1:Expired"}; !slices.Equal(got, want) {
			t.Errorf("evicted %v, want %v", got, want)
		}
		time.Sleep(31 * time.Second)
		if n := c.Len(); n != 1 {
			t.Errorf("Len() = %d, want 1 (b expired)", n)
		}
		s := c.Stats()
		if s.Expirations != 1 || s.Hits != 1 || s.Misses != 3 || s.Entries != 1 {
			t.Errorf("Stats() = %+v, want 1 expiration (b expired but not swept: Stats has no side effect), 1 hit, 3 misses, 1 entry", s)
		}
		if got := log.take(); got != nil {
			t.Errorf("Len or Stats removed %v; they must not", got)
		}
	})
}

func TestTTLWithLRU(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &evictLog[string, int]{}
		c := newCache(t, strlen, &Options[string, int]{MaxEntries: 2, TTL: time.Second, OnEvict: log.add})
		ctx := context.Background()
		c.Get(ctx, "a")
		time.Sleep(time.Second / 2)
		c.Get(ctx, "bb")
		c.Get(ctx, "a")
		time.Sleep(time.Second / 2)
		// a expired; inserting ccc must not evict bb, which is still live.
		c.Get(ctx, "ccc")
		if got, want := log.take(), []string{"a=1:Expired"}; !slices.Equal(got, want) {
			t.Errorf("evicted %v, want %v", got, want)
		}
		if got, want := c.Keys(), []string{"bb", "ccc"}; !slices.Equal(got, want) {
			t.Errorf("Keys() = %v, want %v", got, want)
		}
	})
}

func TestLoadTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, func(_ context.Context, k time.Duration) (int, error) {
			time.Sleep(k)
			return 0, nil
		}, nil)
		c.Get(context.Background(), 3*time.Second)
		c.Get(context.Background(), 4*time.Second)
		if got := c.Stats().LoadTime; got != 7*time.Second {
			t.Errorf("LoadTime = %v, want 7s", got)
		}
	})
}

// TestOnEvictExactlyOnceUnderConcurrency runs every operation at once, then
// checks that each value stored was handed to OnEvict exactly once.
func TestOnEvictExactlyOnceUnderConcurrency(t *testing.T) {
	var loaded atomic.Int64
	var mu sync.Mutex
	evicted := map[int64]int{}
	c, err := New(func(_ context.Context, k int) (int64, error) {
		if k%13 == 0 {
			return 0, errors.New("unlucky")
		}
		return loaded.Add(1), nil
	}, &Options[int, int64]{MaxEntries: 16, TTL: time.Millisecond, OnEvict: func(k int, v int64, r Reason) {
		mu.Lock()
		evicted[v]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for i := range 2000 {
				k := (i*31 + w*7) % 40
				switch i % 50 {
				case 0:
					c.Clear()
				case 1, 2, 3:
					c.Delete(k)
				case 4:
					c.Keys()
				default:
					c.Get(ctx, k)
				}
			}
		})
	}
	wg.Wait()
	c.Close()
	n := loaded.Load()
	mu.Lock()
	defer mu.Unlock()
	for v := int64(1); v <= n; v++ {
		// A value loaded by a stale load was never stored, so never evicted.
		if evicted[v] > 1 {
			t.Fatalf("value %d evicted %d times", v, evicted[v])
		}
	}
	if s := c.Stats(); s.Entries != 0 {
		t.Errorf("Entries after Close = %d", s.Entries)
	}
}

// TestLRUApproximationEndsWithOverlap forces the approximate mode that
// overlapping hits switch on, then checks that one goroutine's hits bring
// back the exact order.
func TestLRUApproximationEndsWithOverlap(t *testing.T) {
	const n = 20
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: n})
	ctx := context.Background()
	for k := range n {
		c.Get(ctx, k)
	}
	// A hit that finds the lock busy is overlapping another call.
	c.mu.Lock()
	done := make(chan struct{})
	go func() { defer close(done); c.Get(ctx, 1) }()
	<-done
	c.mu.Unlock()
	if !c.stripes.concurrent.Load() {
		t.Fatal("a hit that overlapped a locked call did not switch to the approximate order")
	}
	for i := 0; c.stripes.concurrent.Load(); i++ {
		if i > 100*ringSize*sampleEvery*exactAfter {
			t.Fatal("one goroutine's hits did not bring back the exact order")
		}
		c.Get(ctx, i%n)
	}
	want := make([]int, 0, n)
	for i := range 2 * n {
		k := (i * 7) % n
		c.Get(ctx, k)
		want = slices.DeleteFunc(want, func(x int) bool { return x == k })
		want = append(want, k)
	}
	if got := c.Keys(); !slices.Equal(got, want) {
		t.Errorf("Keys() = %v\nwant     %v", got, want)
	}
}

// TestDrainSkipsRecentlyPlaced: while hits overlap, a drain skips the
// recorded hits on entries among the last MaxEntries/4 placed (and does not
// write to them), and applies the others in order: the LRU order differs
// from the exact one only within its most recent quarter, and no hit on an
// entry of the older three quarters is lost.
func TestDrainSkipsRecentlyPlaced(t *testing.T) {
	const n = 8 // near = 2
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: n})
	ctx := context.Background()
	for k := range n {
		c.Get(ctx, k)
	}
	c.stripes.concurrent.Store(true) // hits overlap
	rec := func(k int) { c.record(0, 0, c.tab.lookup(c.hash(k), k)) }
	rec(6) // second to last placed: skipped
	rec(0) // oldest: moved
	rec(7) // last placed: skipped
	rec(1) // moved; 0 is now second to last
	rec(0) // skipped
	if got, want := c.Keys(), []int{2, 3, 4, 5, 6, 7, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	// A hit on the oldest is never skipped, so it is not the one evicted.
	rec(2)
	c.Get(ctx, n) // a miss: evicts the least recently used
	if got, want := c.Keys(), []int{4, 5, 6, 7, 0, 1, 2, 8}; !slices.Equal(got, want) {
		t.Errorf("Keys() after a miss = %v, want %v", got, want)
	}
}

// TestGoexitEndsTheGoroutineItRunsIn checks both places a Loader runs: in
// the first Get's goroutine when its context cannot end, which Goexit then
// ends; and in a goroutine of its own otherwise, so that the first Get gets
// ErrLoaderExited like every other waiter.
func TestGoexitEndsTheGoroutineItRunsIn(t *testing.T) {
	for _, cancellable := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancellable=%v", cancellable), func(t *testing.T) {
			release := make(chan struct{})
			c := newCache(t, func(_ context.Context, k string) (int, error) {
				<-release
				runtime.Goexit()
				return 0, nil
			}, nil)
			ctx := context.Background()
			if cancellable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			first := make(chan error, 1)
			exited := make(chan struct{})
			go func() {
				defer close(exited)
				_, err := c.Get(ctx, "k")
				first <- err
			}()
			waitFor(t, func() bool { return c.Stats().Misses == 1 })
			other := make(chan error, 1)
			go func() { _, err := c.Get(context.Background(), "k"); other <- err }()
			waitFor(t, func() bool { return c.Stats().Shared == 1 })
			close(release)
			if err := <-other; !errors.Is(err, ErrLoaderExited) {
				t.Errorf("the other waiter got %v, want ErrLoaderExited", err)
			}
			<-exited
			select {
			case err := <-first:
				if !cancellable {
					t.Errorf("the Get that ran the loader returned %v; Goexit should have ended its goroutine", err)
				} else if !errors.Is(err, ErrLoaderExited) {
					t.Errorf("the first Get got %v, want ErrLoaderExited", err)
				}
			default:
				if cancellable {
					t.Errorf("the first Get did not return, though the loader ran in a goroutine of its own")
				}
			}
		})
	}
}

// TestPanickingOnEvictReleasesWaiters breaks the OnEvict rule on purpose: the
// panic reaches the Get that ran the load, and the Gets waiting on that load
// still return.
func TestPanickingOnEvictReleasesWaiters(t *testing.T) {
	release := make(chan struct{})
	c := newCache(t, func(_ context.Context, k string) (int, error) {
		if k == "b" {
			<-release
		}
		return len(k), nil
	}, &Options[string, int]{MaxEntries: 1, OnEvict: func(_ string, _ int, r Reason) {
		if r == Evicted {
			panic("bad callback")
		}
	}})
	c.Get(context.Background(), "a")
	loader := make(chan any, 1)
	go func() {
		defer func() { loader <- recover() }()
		c.Get(context.Background(), "b") // runs the load, evicts a
	}()
	waitFor(t, func() bool { return c.Stats().Misses == 2 })
	waiter := make(chan error, 1)
	go func() { _, err := c.Get(context.Background(), "b"); waiter <- err }()
	waitFor(t, func() bool { return c.Stats().Shared == 1 })
	close(release)
	if r := <-loader; r != "bad callback" {
		t.Errorf("the Get that ran the load recovered %v, want the callback's panic", r)
	}
	if err := <-waiter; err != nil {
		t.Errorf("the waiting Get = %v, want the loaded value", err)
	}
}
