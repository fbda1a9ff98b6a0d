package keyedcache

// Review 17 tried the cache as a hostile user would, and found:
//
//   - With ExpireAfter, a value still unexpired in the timer wheel's current
//     bucket when an advance reached it stayed there, and the next advance,
//     into a later millisecond, started from the bucket after it: the value
//     expired without being swept (no OnEvict(Expired) until the wheel came
//     round, about 64 ms later), and once the clock had moved on, Len and
//     Stats counted it again (TestReview17WheelSweepsTheBucketItLeft,
//     TestReview17WheelModel).
//   - An OnEvict that panicked stopped the calls for the other values its
//     call removed, which then never got theirs
//     (TestReview17OnEvictPanicRunsTheOthers), and, run by an Acquire for
//     what its load's store evicted, left that Acquire's lease held by
//     nobody, so that its value never got its own OnEvict
//     (TestReview17OnEvictPanicReleasesTheLease).
//   - An OnEvict that calls Close, run in a Loader's goroutine (the Loader
//     deleted or loaded another key), deadlocks: Close waits for every
//     Loader, that one included. Telling that goroutine apart would cost
//     every load a goroutine id (about a microsecond, three times a
//     miss), so the documentation now forbids it, with Close from the
//     Loader itself.
//   - A sweep removes every value that has expired, with its OnEvict, in
//     the call that sweeps, and Len and Stats count the expired values not
//     yet swept: work proportional to those values, which the
//     documentation had denied. It now says so.
//
// A second review then attacked the new panic handling (every OnEvict of
// a call panicking or calling Goexit, 300,000 of them; Close whose OnEvict
// panics, with a load in flight and a second Close waiting; leases of
// joined Acquires), refreshes racing Set, Delete, Clear, Close, expiry and
// TinyLFU admission, Set's semantics and Stats under rejection, and found
// nothing; two of its tests stay (TestReview17EveryOnEvictPanics,
// TestReview17ClosePanicStillWaits).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A value whose wheel bucket was current at a sweep, but which had not
// expired then, is swept by the next sweep after it expires.
func TestReview17WheelSweepsTheBucketItLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var evs []Reason
		c, err := New(func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
			ExpireAfter: func(k, _ int) time.Duration {
				if k == 1 {
					return 1500 * time.Microsecond
				}
				return time.Hour
			},
			OnEvict: func(_, _ int, r Reason) { evs = append(evs, r) },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Set(1, 1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1200 * time.Microsecond)
		c.Delete(99) // sweeps at 1.2 ms: 1 has not expired
		if len(evs) != 0 {
			t.Fatalf("OnEvict calls at 1.2 ms = %v, want none", evs)
		}
		time.Sleep(1300 * time.Microsecond)
		c.Delete(99) // sweeps at 2.5 ms: 1 expired at 1.5 ms
		if len(evs) != 1 || evs[0] != Expired {
			t.Errorf("OnEvict calls after a sweep at 2.5 ms = %v, want [Expired]", evs)
		}
		if n, k := c.Len(), len(c.Keys()); n != 0 || k != 0 {
			t.Errorf("Len() = %d, len(Keys()) = %d; want 0, 0", n, k)
		}
		if st := c.Stats(); st.Entries != 0 || st.Expirations != 1 {
			t.Errorf("Stats: Entries %d, Expirations %d; want 0, 1", st.Entries, st.Expirations)
		}
	})
}

// A model of ExpireAfter under the fake clock: lifetimes from a microsecond
// to days, sweeps at random times. After every call, Len and Keys count the
// unexpired values, and Peek finds no expired one; after a sweep, every
// expired value has had its OnEvict(Expired), never early.
func TestReview17WheelModel(t *testing.T) {
	scales := []time.Duration{time.Microsecond, 100 * time.Microsecond, time.Millisecond,
		50 * time.Millisecond, time.Second, time.Minute, time.Hour, 24 * time.Hour}
	for seed := range 20 {
		synctest.Test(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 9))
			life := map[int]time.Duration{}
			expires := map[int]time.Time{}
			removed := map[int]bool{}
			closing := false
			c, err := New(func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
				ExpireAfter: func(_, v int) time.Duration { return life[v] },
				OnEvict: func(_, v int, why Reason) {
					if removed[v] {
						t.Errorf("seed %d: value %d removed twice", seed, v)
					}
					removed[v] = true
					if closing && why == Closed {
						return
					}
					if why != Expired {
						t.Errorf("seed %d: value %d left with %v", seed, v, why)
					} else if time.Now().Before(expires[v]) {
						t.Errorf("seed %d: value %d expired %v early", seed, v, time.Until(expires[v]))
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				closing = true
				c.Close()
			}()
			next := 0
			sweep := func() {
				c.Delete(-1)
				now := time.Now()
				for v, at := range expires {
					if life[v] > 0 && !now.Before(at) && !removed[v] {
						t.Fatalf("seed %d: value %d expired %v ago and a sweep left it", seed, v, now.Sub(at))
					}
				}
			}
			for step := range 400 {
				switch r.IntN(3) {
				case 0:
					next++
					d := time.Duration(r.Int64N(3 * int64(scales[r.IntN(len(scales))])))
					life[next], expires[next] = d, time.Now().Add(d)
					if err := c.Set(next, next); err != nil {
						t.Fatal(err)
					}
				case 1:
					time.Sleep(time.Duration(r.Int64N(int64(scales[r.IntN(len(scales)-2)]))))
				case 2:
					sweep()
				}
				now, want := time.Now(), 0
				for v, at := range expires {
					switch {
					case removed[v] || life[v] <= 0:
					case !now.Before(at):
						if _, ok := c.Peek(v); ok {
							t.Fatalf("seed %d step %d: Peek found %d, expired", seed, step, v)
						}
					default:
						want++
					}
				}
				if got := c.Len(); got != want {
					t.Fatalf("seed %d step %d: Len() = %d, want %d", seed, step, got, want)
				}
				if got := len(c.Keys()); got != want {
					t.Fatalf("seed %d step %d: len(Keys()) = %d, want %d", seed, step, got, want)
				}
			}
			sweep()
		})
	}
}

// An OnEvict that panics, or calls runtime.Goexit, does not keep the other
// values its call removed from theirs: the panic goes on after them.
func TestReview17OnEvictPanicRunsTheOthers(t *testing.T) {
	for _, how := range []string{"panic", "Goexit"} {
		t.Run(how, func(t *testing.T) {
			var mu sync.Mutex
			got := map[int]int{}
			first := true
			c, err := New(func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
				OnEvict: func(k, _ int, _ Reason) {
					mu.Lock()
					got[k]++
					stop := first
					first = false
					mu.Unlock()
					if !stop {
						return
					}
					if how == "panic" {
						panic("boom")
					}
					runtime.Goexit()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for k := range 5 {
				if _, err := c.Get(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			var recovered any
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() { recovered = recover() }()
				c.Clear()
			}()
			<-done
			if how == "panic" && recovered != "boom" {
				t.Errorf("Clear's caller recovered %v, want the OnEvict's panic", recovered)
			}
			mu.Lock()
			for k := range 5 {
				if got[k] != 1 {
					t.Errorf("value %d: %d OnEvict calls, want 1 (%v)", k, got[k], got)
				}
			}
			mu.Unlock()
			// The cache goes on working.
			if v, err := c.Get(ctx, 7); v != 7 || err != nil {
				t.Errorf("Get after the panic = %d, %v", v, err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An Acquire whose load's store evicted a value, and that runs the
// evicted value's OnEvict, which panics, returns no release function: its
// lease is released for it, and its own value gets its OnEvict when it
// leaves. Both the Acquire that ran the load and one that waited for it.
func TestReview17OnEvictPanicReleasesTheLease(t *testing.T) {
	for _, mode := range []string{"inline", "waiter"} {
		t.Run(mode, func(t *testing.T) {
			var mu sync.Mutex
			got := map[int]Reason{}
			c, err := New(func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
				MaxEntries: 1,
				OnEvict: func(k, _ int, r Reason) {
					mu.Lock()
					got[k] = r
					mu.Unlock()
					if k == 1 {
						panic("boom")
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			// A context that can end makes the Acquire wait for a load
			// run in a goroutine of its own; it is then the first waiter
			// to wake, and runs the callbacks.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if mode == "inline" {
				ctx = context.Background()
			}
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				_, _, _ = c.Acquire(ctx, 2) // evicts 1, whose OnEvict panics
			}()
			if recovered != "boom" {
				t.Fatalf("Acquire's caller recovered %v, want the OnEvict's panic", recovered)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got[1] != Evicted || got[2] != Closed {
				t.Errorf("OnEvict reasons %v, want 1 Evicted and 2 Closed", got)
			}
			if st := c.Stats(); st.AwaitingRelease != 0 {
				t.Errorf("after Close, AwaitingRelease = %d, want 0", st.AwaitingRelease)
			}
		})
	}
}

// Every OnEvict of a Clear or Close panics, calls Goexit, or either in
// turn: every one of them still runs, once, and the cache is left empty.
func TestReview17EveryOnEvictPanics(t *testing.T) {
	for _, how := range []string{"panic", "Goexit", "mixed"} {
		for _, op := range []string{"Clear", "Close"} {
			t.Run(how+"/"+op, func(t *testing.T) {
				var mu sync.Mutex
				got := map[int]int{}
				c, err := New(func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
					OnEvict: func(k, _ int, _ Reason) {
						mu.Lock()
						got[k]++
						mu.Unlock()
						switch {
						case how == "panic" || (how == "mixed" && k%2 == 0):
							panic(fmt.Sprint("boom", k))
						default:
							runtime.Goexit()
						}
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				for k := range 20 {
					if _, err := c.Get(context.Background(), k); err != nil {
						t.Fatal(err)
					}
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					defer func() { recover() }()
					if op == "Clear" {
						c.Clear()
					} else {
						c.Close()
					}
				}()
				<-done
				mu.Lock()
				for k := range 20 {
					if got[k] != 1 {
						t.Errorf("key %d: %d calls", k, got[k])
					}
				}
				mu.Unlock()
				if st := c.Stats(); st.Entries != 0 || c.Len() != 0 || st.AwaitingRelease != 0 {
					t.Errorf("stats after: %+v", st)
				}
				c.Close()
			})
		}
	}
}

// A Close whose OnEvict panics (or calls Goexit) still waits for the loads
// in flight, and a concurrent Close still returns only after every
// OnEvict(Closed) has run.
func TestReview17ClosePanicStillWaits(t *testing.T) {
	for _, how := range []string{"panic", "Goexit"} {
		t.Run(how, func(t *testing.T) {
			var loaderDone atomic.Bool
			started := make(chan struct{})
			var calls atomic.Int32
			gate := make(chan struct{})
			c, err := New(func(ctx context.Context, k int) (int, error) {
				if k == 100 {
					close(started)
					<-ctx.Done()
					time.Sleep(50 * time.Millisecond)
					loaderDone.Store(true)
				}
				return k, nil
			}, &Options[int, int]{
				OnEvict: func(k, _ int, r Reason) {
					calls.Add(1)
					if k == 0 {
						<-gate
						if how == "panic" {
							panic("boom")
						}
						runtime.Goexit()
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			for k := range 5 {
				c.Get(context.Background(), k)
			}
			lctx, lcancel := context.WithCancel(context.Background())
			defer lcancel()
			getDone := make(chan error, 1)
			go func() { _, err := c.Get(lctx, 100); getDone <- err }()
			<-started
			first := make(chan bool, 1)
			go func() {
				defer func() { recover(); first <- loaderDone.Load() }()
				c.Close()
			}()
			time.Sleep(20 * time.Millisecond)
			second := make(chan int32, 1)
			go func() {
				c.Close()
				second <- calls.Load()
			}()
			time.Sleep(20 * time.Millisecond)
			select {
			case n := <-second:
				t.Fatalf("second Close returned before OnEvict(0) finished (calls=%d)", n)
			default:
			}
			close(gate)
			if !<-first {
				t.Errorf("first Close (panicking) returned before the loader returned")
			}
			if n := <-second; n != 5 {
				t.Errorf("second Close saw %d calls, want 5", n)
			}
			<-getDone
			st := c.Stats()
			if st.Entries != 0 || c.Len() != 0 || st.AwaitingRelease != 0 {
				t.Errorf("stats %+v", st)
			}
			if _, err := c.Get(context.Background(), 1); err != ErrClosed {
				t.Errorf("Get after Close: %v", err)
			}
			if err := c.Set(1, 1); err != ErrClosed {
				t.Errorf("Set after Close: %v", err)
			}
		})
	}
}
