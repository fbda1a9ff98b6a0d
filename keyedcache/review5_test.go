package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

// Review 5: loads made without a load struct (b7537a7). A Get with
// context.Background or context.TODO hands the Loader its entry, converted
// (loadCtx), as the context, and makes the load struct only when another
// call needs it.

// TestReview5RetainedLoaderContextPinsNoValue checks that a Loader's
// context kept beyond the load (here, as a background goroutine or a
// logger would keep it: context.WithoutCancel, for its values) does not
// keep the value alive once it has left the cache and its OnEvict has run
// ("Removed means released"). A load struct, the context before b7537a7,
// held only the Get's context and the error; the entry, the context now,
// holds the key and the value.
func TestReview5RetainedLoaderContextPinsNoValue(t *testing.T) {
	type box struct{ _ [1 << 10]byte }
	for _, how := range []string{"Delete", "Clear", "Close", "Evicted"} {
		t.Run(how, func(t *testing.T) {
			var kept []context.Context // what a background goroutine keeps
			var ws []weak.Pointer[box]
			evicted := 0
			opts := &Options[int, *box]{OnEvict: func(int, *box, Reason) { evicted++ }}
			if how == "Evicted" {
				opts.MaxEntries = 1
			}
			c := newCache(t, func(ctx context.Context, k int) (*box, error) {
				kept = append(kept, context.WithoutCancel(ctx))
				b := new(box)
				ws = append(ws, weak.Make(b))
				return b, nil
			}, opts)
			if _, err := c.Get(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "Delete":
				c.Delete(1)
			case "Clear":
				c.Clear()
			case "Close":
				c.Close()
			case "Evicted":
				if _, err := c.Get(context.Background(), 2); err != nil {
					t.Fatal(err)
				}
			}
			if evicted != 1 {
				t.Fatalf("%d OnEvict calls, want 1", evicted)
			}
			runtime.GC()
			runtime.GC()
			if ws[0].Value() != nil {
				t.Errorf("%s: the value left the cache and its OnEvict ran, but it is still reachable: the Loader's context, which the Loader kept, is its entry", how)
			}
			runtime.KeepAlive(kept)
			runtime.KeepAlive(c)
		})
	}
}

// TestReview5ValueKeepingItsContextIsFinalized: a value that keeps the
// context it was loaded with in a field (not to use it, as the package doc
// forbids, but say to report its values later) and that has a finalizer,
// as many client types set one to flag a leak. Once the value has left the
// cache, its finalizer must run. With the entry as the Loader's context,
// value -> context (the entry) -> value is a cycle through an object with a
// finalizer, which the runtime never collects (runtime.SetFinalizer).
func TestReview5ValueKeepingItsContextIsFinalized(t *testing.T) {
	type client struct {
		ctx context.Context
		_   [256]byte
	}
	var finalized atomic.Int32
	c := newCache(t, func(ctx context.Context, k int) (*client, error) {
		v := &client{ctx: ctx}
		runtime.SetFinalizer(v, func(*client) { finalized.Add(1) })
		return v, nil
	}, nil)
	const n = 8
	for k := range n {
		if _, err := c.Get(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	c.Clear()
	deadline := time.Now().Add(2 * time.Second)
	for finalized.Load() < n && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := finalized.Load(); got != n {
		t.Errorf("%d of %d cleared values were finalized: a value that keeps its Loader's context is in a cycle with its entry", got, n)
	}
}

// TestReview5ErrAfterDoneClosed checks the context contract "once Done is
// closed, Err returns a non-nil error" for loads that made no load struct
// and that Close cancels while their Loaders run. A goroutine of each
// Loader sees Done closed, then calls Err over and over while the Loader
// returns and the load completes. loadCtx.Err reads the state word (still
// stLoading) and then ld: if complete stores the state word and swaps ld to
// nil between those two reads, Err returns nil although the load was
// cancelled. (context's own propagation goroutine, for a WithCancel child
// of the Loader's context, calls parent.Err() just after Done closes, and
// panics on nil: "context: internal error: missing cancel error".) The
// test runs with more Ps than cores, so that the OS preempts some spinners
// between the two reads; it runs rounds for up to two seconds, and fails
// in nearly every run (it passes every run with Err re-reading the state
// word after it finds ld nil).
func TestReview5ErrAfterDoneClosed(t *testing.T) {
	const keys = 8
	// More Ps than cores: the OS preempts the spinners' threads at any
	// instruction, between Err's two reads included.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4 * keys))
	budget := 2 * time.Second
	if testing.Short() {
		budget = 200 * time.Millisecond
	}
	var bad atomic.Int64
	rounds := 0
	for start := time.Now(); time.Since(start) < budget; rounds++ {
		var wg sync.WaitGroup
		var started sync.WaitGroup
		started.Add(keys)
		c, err := New(func(ctx context.Context, k int) (int, error) {
			var returned atomic.Bool
			wg.Go(func() {
				<-ctx.Done()
				// Until well after the Loader returned, and its load
				// completed.
				for n := 0; n < 1000; {
					if returned.Load() {
						n++
					}
					if ctx.Err() == nil {
						bad.Add(1)
					}
				}
			})
			started.Done()
			<-ctx.Done()
			runtime.Gosched() // the spinners run, and some are preempted
			returned.Store(true)
			return 0, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var gets sync.WaitGroup
		for k := range keys {
			gets.Go(func() { _, _ = c.Get(context.Background(), k) })
		}
		started.Wait()
		c.Close()
		gets.Wait()
		wg.Wait()
		if n := bad.Load(); n > 0 {
			t.Fatalf("round %d: ctx.Err() returned nil %d times after ctx.Done() was closed (by Close)", rounds, n)
		}
	}
	t.Logf("%d rounds", rounds)
}

// TestReview5AcquireJoinsALoadWithoutLoad: Acquires join a load that a Get
// with context.Background started without a load struct (the load is made
// by join). The one that stays receives a lease, the one that leaves takes
// none back with it, and so the value's OnEvict, after a Delete, waits for
// exactly one release: with a lease too many it would never run, with one
// too few it would run while leased.
func TestReview5AcquireJoinsALoadWithoutLoad(t *testing.T) {
	started := make(chan struct{})
	proceed := make(chan struct{})
	var evicted atomic.Int32
	c := newCache(t, func(ctx context.Context, k int) (int, error) {
		close(started)
		<-proceed
		return k * 10, nil
	}, &Options[int, int]{OnEvict: func(int, int, Reason) { evicted.Add(1) }})
	first := make(chan error, 1)
	go func() {
		v, err := c.Get(context.Background(), 1)
		if err == nil && v != 10 {
			err = fmt.Errorf("value %d", v)
		}
		first <- err
	}()
	<-started
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, release, err := c.Acquire(leaving, 1)
		release()
		left <- err
	}()
	type acq struct {
		v       int
		release func()
		err     error
	}
	stayed := make(chan acq, 1)
	go func() {
		v, release, err := c.Acquire(context.Background(), 1)
		stayed <- acq{v, release, err}
	}()
	waitFor(t, func() bool { return c.Stats().Shared == 2 })
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the Acquire that left got %v", err)
	}
	close(proceed)
	if err := <-first; err != nil {
		t.Fatalf("starter: %v", err)
	}
	a := <-stayed
	if a.err != nil || a.v != 10 {
		t.Fatalf("Acquire = %d, %v", a.v, a.err)
	}
	if !c.Delete(1) {
		t.Fatal("Delete found no value")
	}
	if n := evicted.Load(); n != 0 {
		t.Fatalf("OnEvict ran %d times while the value is leased", n)
	}
	if s := c.Stats(); s.AwaitingRelease != 1 {
		t.Fatalf("AwaitingRelease = %d, want 1", s.AwaitingRelease)
	}
	a.release()
	if n := evicted.Load(); n != 1 {
		t.Fatalf("after the one release, OnEvict ran %d times, want 1 (leases miscounted)", n)
	}
	if s := c.Stats(); s.Loads != 1 || s.Misses != 3 || s.Shared != 2 || s.AwaitingRelease != 0 {
		t.Errorf("Stats = %+v, want 1 load, 3 misses, 2 shared", s)
	}
}

// TestReview5FastPathLoaderFails: a Loader run in its Get's goroutine with
// no load struct panics or calls runtime.Goexit after waiters joined (a Get
// with a context that can end, an Acquire) and after a goroutine of its own
// asked for ctx.Done (which makes the load late, from outside the lock).
// Every waiter receives the failure, the starter too (or its goroutine
// ends, for Goexit), the spawned goroutine's Done closes, the Stats are
// exact, nothing is stored, and the next Get loads afresh.
func TestReview5FastPathLoaderFails(t *testing.T) {
	for _, how := range []string{"panic", "Goexit", "error"} {
		t.Run(how, func(t *testing.T) {
			started := make(chan struct{})
			proceed := make(chan struct{})
			doneSeen := make(chan error, 1)
			calls := 0
			c := newCache(t, func(ctx context.Context, k int) (int, error) {
				calls++
				if calls > 1 {
					return k, nil
				}
				asked := make(chan struct{})
				go func() {
					d := ctx.Done()
					close(asked)
					select {
					case <-d:
						doneSeen <- ctx.Err()
					case <-time.After(10 * time.Second):
						doneSeen <- errors.New("Done never closed")
					}
				}()
				<-asked
				close(started)
				<-proceed
				switch how {
				case "panic":
					panic("boom")
				case "Goexit":
					runtime.Goexit()
				}
				return 0, errors.New("failed")
			}, nil)
			type res struct {
				returned bool
				err      error
			}
			first := make(chan res, 1)
			go func() {
				returned := false
				defer func() {
					if !returned { // the Loader's Goexit ended this goroutine
						first <- res{false, nil}
					}
				}()
				_, err := c.Get(context.TODO(), 1)
				returned = true
				first <- res{true, err}
			}()
			<-started
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			waiters := make(chan error, 2)
			go func() { _, err := c.Get(ctx, 1); waiters <- err }()
			go func() {
				_, release, err := c.Acquire(ctx, 1)
				release()
				waiters <- err
			}()
			waitFor(t, func() bool { return c.Stats().Shared == 2 })
			close(proceed)
			r := <-first
			check := func(who string, err error) {
				t.Helper()
				var pe *PanicError
				switch how {
				case "panic":
					if !errors.As(err, &pe) || pe.Value != "boom" {
						t.Errorf("%s got %v, want the *PanicError", who, err)
					}
				case "Goexit":
					if !errors.Is(err, ErrLoaderExited) {
						t.Errorf("%s got %v, want ErrLoaderExited", who, err)
					}
				default:
					if err == nil || err.Error() != "failed" {
						t.Errorf("%s got %v, want the Loader's error", who, err)
					}
				}
			}
			if how == "Goexit" {
				if r.returned {
					t.Errorf("the Get that ran a Loader that called Goexit returned %v", r.err)
				}
			} else {
				check("the starter", r.err)
			}
			check("a waiter", <-waiters)
			check("a waiter", <-waiters)
			if err := <-doneSeen; !errors.Is(err, context.Canceled) {
				t.Errorf("the Loader's goroutine: %v", err)
			}
			if s := c.Stats(); s.Loads != 0 || s.LoadErrors != 1 || s.Misses != 3 || s.Shared != 2 || s.Entries != 0 {
				t.Errorf("Stats = %+v, want 1 load error, 3 misses, 2 shared, no entry", s)
			}
			if v, err := c.Get(context.Background(), 1); err != nil || v != 1 || calls != 2 {
				t.Errorf("next Get = %d, %v after %d calls, want a fresh load", v, err, calls)
			}
			r4Check(t, c)
		})
	}
}

// TestReview5DeleteDoesNotCancelAFastPathLoad: Delete, Set and Clear make
// a load stale but, unlike Close, do not cancel its context (only a
// refresh's). For a load without a load struct they make one: the Loader's
// Err must stay nil and an AfterFunc registered on its context must not
// run until the load is over; then both must report the end, Cause
// included, and a child made during the load must end with it.
func TestReview5DeleteDoesNotCancelAFastPathLoad(t *testing.T) {
	for _, how := range []string{"Delete", "Set", "Clear", "Close"} {
		t.Run(how, func(t *testing.T) {
			started := make(chan struct{})
			proceed := make(chan struct{})
			var after atomic.Int32
			var kept context.Context
			var child context.Context
			c, err := New(func(ctx context.Context, k int) (int, error) {
				kept = ctx
				context.AfterFunc(ctx, func() { after.Add(1) })
				var cancel context.CancelFunc
				child, cancel = context.WithTimeout(ctx, time.Hour)
				_ = cancel // ends with its parent
				close(started)
				<-proceed
				if how != "Close" {
					if err := ctx.Err(); err != nil {
						return 0, fmt.Errorf("%s cancelled the load: %w", how, err)
					}
					if n := after.Load(); n != 0 {
						return 0, fmt.Errorf("%s ran the AfterFunc", how)
					}
				} else if ctx.Err() == nil {
					return 0, errors.New("Close did not cancel the load")
				}
				return k, nil
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := make(chan error, 1)
			go func() { _, err := c.Get(context.Background(), 1); got <- err }()
			<-started
			closed := make(chan struct{})
			switch how {
			case "Delete":
				c.Delete(1)
			case "Set":
				if err := c.Set(1, 5); err != nil {
					t.Fatal(err)
				}
			case "Clear":
				c.Clear()
			case "Close":
				go func() { c.Close(); close(closed) }()
				waitFor(t, func() bool {
					select {
					case <-kept.Done():
						return true
					default:
						return false
					}
				})
			}
			close(proceed)
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			if how == "Close" {
				<-closed
			}
			if err := kept.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("after the load, Err = %v", err)
			}
			if err := context.Cause(kept); !errors.Is(err, context.Canceled) {
				t.Errorf("after the load, Cause = %v", err)
			}
			waitFor(t, func() bool { return after.Load() == 1 && child.Err() != nil })
			if err := context.Cause(child); !errors.Is(err, context.Canceled) {
				t.Errorf("the child's Cause = %v, want context.Canceled from its parent", err)
			}
		})
	}
}

// TestReview5ExpireAfterOnTheFastPath: with ExpireAfter, finish reads
// isStale before calling it, while the load may have no load struct.
// ExpireAfter that deletes its own key makes the load stale meanwhile (the
// value is then not stored, and gets no OnEvict); one that returns 0 makes
// the value expire at once, with its OnEvict run by the Get before it
// returns; one that calls Goexit fails a joined waiter with
// ErrLoaderExited. Each time the Loader's context ends with the load.
func TestReview5ExpireAfterOnTheFastPath(t *testing.T) {
	for _, how := range []string{"Delete", "zero", "Goexit"} {
		t.Run(how, func(t *testing.T) {
			var c *KeyedCache[int, int]
			var evicts []string
			var kept context.Context
			started := make(chan struct{})
			proceed := make(chan struct{})
			c = newCache(t, func(ctx context.Context, k int) (int, error) {
				kept = ctx
				if k == 1 {
					close(started)
					<-proceed
				}
				return k, nil
			}, &Options[int, int]{
				ExpireAfter: func(k, v int) time.Duration {
					if k != 1 {
						return time.Hour
					}
					switch how {
					case "Delete":
						c.Delete(k)
						return time.Hour
					case "Goexit":
						runtime.Goexit()
					}
					return 0
				},
				OnEvict: func(k, v int, r Reason) { evicts = append(evicts, fmt.Sprint(k, r)) },
			})
			first := make(chan error, 1)
			go func() {
				returned := false
				defer func() {
					if !returned {
						first <- ErrLoaderExited
					}
				}()
				v, err := c.Get(context.Background(), 1)
				returned = true
				if err == nil && v != 1 {
					err = fmt.Errorf("value %d", v)
				}
				if how == "zero" && len(evicts) != 1 {
					err = fmt.Errorf("Get returned before the OnEvict of its expired value (%v)", evicts)
				}
				first <- err
			}()
			<-started
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			waiter := make(chan error, 1)
			go func() { _, err := c.Get(ctx, 1); waiter <- err }()
			waitFor(t, func() bool { return c.Stats().Shared == 1 })
			close(proceed)
			err1, err2 := <-first, <-waiter
			if how == "Goexit" {
				if !errors.Is(err1, ErrLoaderExited) || !errors.Is(err2, ErrLoaderExited) {
					t.Errorf("starter %v, waiter %v, want ErrLoaderExited (and the starter's goroutine ended)", err1, err2)
				}
			} else if err1 != nil || err2 != nil {
				t.Errorf("starter %v, waiter %v", err1, err2)
			}
			if err := kept.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("after the load, the Loader's ctx.Err() = %v", err)
			}
			want := map[string]string{"Delete": "[]", "zero": "[1 Expired]", "Goexit": "[]"}[how]
			if got := fmt.Sprint(evicts); got != want {
				t.Errorf("OnEvict calls %s, want %s", got, want)
			}
			if _, ok := c.Peek(1); ok {
				t.Error("a value is stored")
			}
			if v, err := c.Get(context.Background(), 2); err != nil || v != 2 {
				t.Errorf("Get(2) = %d, %v", v, err)
			}
			r4Check(t, c)
		})
	}
}

// TestReview5FastPathEvictedAtOnceIsReleased: in small bounded caches
// (LRU and TinyLFU, which turns new values away), each fast-path load's
// Loader leaves a goroutine that asks for Done after a random delay, before
// or after the load ends, so the load is made late from outside the lock
// at every point. Every value gets exactly one OnEvict (as many per key as
// loads), every Done closes,
// Stats count every load, and once the cache is closed no value stays
// reachable (no late load, noLoad or ring keeps an entry).
func TestReview5FastPathEvictedAtOnceIsReleased(t *testing.T) {
	type box struct {
		k int
		_ [128]byte
	}
	for _, policy := range []Policy{LRU, TinyLFU} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			var ws []weak.Pointer[box]
			loaded := map[int]int{}
			evicted := map[int]int{}
			var loads atomic.Int64
			c, err := New(func(ctx context.Context, k int) (*box, error) {
				loads.Add(1)
				d := time.Duration(rand.IntN(50)) * time.Microsecond
				wg.Go(func() {
					time.Sleep(d)
					select {
					case <-ctx.Done():
					case <-time.After(10 * time.Second):
						t.Errorf("key %d: Done never closed", k)
					}
					if ctx.Err() == nil {
						t.Errorf("key %d: Done closed, Err nil", k)
					}
				})
				if rand.IntN(2) == 0 {
					_ = ctx.Done()
				}
				b := &box{k: k}
				mu.Lock()
				ws = append(ws, weak.Make(b))
				loaded[k]++
				mu.Unlock()
				return b, nil
			}, &Options[int, *box]{MaxEntries: 4, Policy: policy, OnEvict: func(k int, b *box, r Reason) {
				mu.Lock()
				evicted[k]++
				mu.Unlock()
				if b.k != k {
					t.Errorf("OnEvict(%d) got the value of %d", k, b.k)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			const n = 500
			for k := range n {
				// Keys 0..3 are asked for often, so that TinyLFU turns
				// the others away.
				if _, err := c.Get(context.Background(), k%4); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Get(context.TODO(), 100+k); err != nil {
					t.Fatal(err)
				}
			}
			if s := c.Stats(); s.Loads != uint64(loads.Load()) || s.LoadErrors != 0 {
				t.Errorf("Stats Loads %d, LoadErrors %d, for %d Loader calls", s.Loads, s.LoadErrors, loads.Load())
			}
			c.Close()
			wg.Wait()
			for k, n := range loaded {
				if evicted[k] != n {
					t.Errorf("key %d: %d OnEvict calls for %d values", k, evicted[k], n)
				}
			}
			runtime.GC()
			runtime.GC()
			alive := 0
			for _, w := range ws {
				if w.Value() != nil {
					alive++
				}
			}
			if alive > 0 {
				t.Errorf("%d of %d values still reachable after Close", alive, len(ws))
			}
			runtime.KeepAlive(c)
		})
	}
}

// TestReview5FastPathRaces races Close, Delete, Set, Clear and a joining
// Get that leaves against fast-path loads, at random points (before the
// Loader starts, while it runs, as it returns), while goroutines of each
// Loader use its context (Done, Err, AfterFunc, a WithCancel child, Cause)
// at random times. Once the Get that ran a fast-path load has returned,
// its context must be over (Err non-nil, Done closed); once Close has
// returned, every load's; then every AfterFunc runs and every child ends,
// and Stats count every Loader call. Run with -race; the package's goleak check finds a Done
// that never closes, through a goroutine left waiting on it.
func TestReview5FastPathRaces(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	for round := range rounds {
		var wg sync.WaitGroup
		type seen struct {
			ctx   context.Context
			after *atomic.Bool
			child context.Context
		}
		var mu sync.Mutex
		var ctxs []seen
		c, err := New(func(ctx context.Context, k int) (int, error) {
			var after atomic.Bool
			context.AfterFunc(ctx, func() { after.Store(true) })
			child, cancel := context.WithCancel(ctx)
			mu.Lock()
			ctxs = append(ctxs, seen{ctx, &after, child})
			mu.Unlock()
			wg.Go(func() {
				defer cancel()
				for range rand.IntN(3) {
					runtime.Gosched()
				}
				switch rand.IntN(3) {
				case 0:
					<-ctx.Done()
					if ctx.Err() == nil || context.Cause(ctx) == nil {
						t.Errorf("key %d: Done closed, Err or Cause nil", k)
					}
				case 1:
					_ = ctx.Err()
				case 2:
					<-child.Done()
				}
			})
			for range rand.IntN(3) {
				runtime.Gosched()
			}
			if rand.IntN(4) == 0 {
				return 0, errors.New("failed")
			}
			return k, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var gets sync.WaitGroup
		for k := range 4 {
			gets.Go(func() {
				ctx := context.Background()
				if k%2 == 1 {
					ctx = context.TODO()
				}
				_, err := c.Get(ctx, k)
				if err != nil && !errors.Is(err, ErrClosed) && err.Error() != "failed" {
					t.Errorf("Get(%d): %v", k, err)
				}
			})
			gets.Go(func() {
				ctx, cancel := context.WithCancel(context.Background())
				go func() { runtime.Gosched(); cancel() }()
				_, _ = c.Get(ctx, k)
				cancel()
			})
		}
		for range rand.IntN(3) {
			runtime.Gosched()
		}
		switch round % 5 {
		case 0:
			c.Delete(rand.IntN(4))
		case 1:
			_ = c.Set(rand.IntN(4), -1)
		case 2:
			c.Clear()
		case 3:
			c.Close()
		}
		gets.Wait()
		mu.Lock()
		for _, s := range ctxs {
			if _, ok := s.ctx.(*loadCtx[int, int]); !ok {
				// A load run in a goroutine of its own is cancelled
				// just after it releases its waiters; Close waits for
				// that, below.
				continue
			}
			if s.ctx.Err() == nil {
				t.Fatalf("round %d: a Loader's ctx.Err() is nil after the Get that ran it returned", round)
			}
			select {
			case <-s.ctx.Done():
			default:
				t.Fatalf("round %d: a Loader's Done is open after the Get that ran it returned", round)
			}
		}
		mu.Unlock()
		c.Close()
		mu.Lock()
		for _, s := range ctxs {
			if s.ctx.Err() == nil {
				t.Fatalf("round %d: a Loader's ctx.Err() is nil after Close returned", round)
			}
		}
		mu.Unlock()
		wg.Wait()
		mu.Lock()
		for _, s := range ctxs {
			waitFor(t, func() bool { return s.after.Load() && s.child.Err() != nil })
		}
		mu.Unlock()
		if s := c.Stats(); s.Loads+s.LoadErrors != uint64(len(ctxs)) {
			t.Fatalf("round %d: Stats %+v count %d Loader calls of %d", round, s, s.Loads+s.LoadErrors, len(ctxs))
		}
		r4Check(t, c)
	}
}
