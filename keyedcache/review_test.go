package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"
)

// rvWithin fails t if f does not return within 10 s of real time.
func rvWithin(t *testing.T, what string, f func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not return within 10s: deadlock?", what)
		return false
	}
}

// ---------------------------------------------------------------------------
// Hashing

// TestReviewIntKeyOneLoad: one load per int key. It holds on 64-bit
// platforms; TestReviewIntKeyOneLoad32Bit runs it for GOARCH=386.
func TestReviewIntKeyOneLoad(t *testing.T) {
	var loads atomic.Int64
	c := newCache(t, func(_ context.Context, k int) (int, error) { loads.Add(1); return k, nil }, nil)
	ctx := context.Background()
	for i := range 100 {
		for range 3 {
			if v, err := c.Get(ctx, i); err != nil || v != i {
				t.Fatalf("Get(%d) = %d, %v", i, v, err)
			}
		}
	}
	if n := loads.Load(); n != 100 {
		t.Errorf("100 distinct int keys, each Get 3 times: %d loads, want 100 (one load per key)", n)
	}
	if n := c.Len(); n != 100 {
		t.Errorf("Len = %d, want 100", n)
	}
	var uloads atomic.Int64
	cu := newCache(t, func(_ context.Context, k uintptr) (uintptr, error) { uloads.Add(1); return k, nil }, nil)
	for i := range uintptr(50) {
		cu.Get(ctx, i)
		cu.Get(ctx, i)
	}
	if n := uloads.Load(); n != 50 {
		t.Errorf("uintptr keys: %d loads, want 50", n)
	}
}

// TestReviewIntKeyOneLoad32Bit runs TestReviewIntKeyOneLoad on a 32-bit
// platform, where int, uint and uintptr are 4 bytes wide.
func TestReviewIntKeyOneLoad32Bit(t *testing.T) {
	if testing.Short() || runtime.GOARCH != "amd64" || runtime.GOOS != "linux" {
		t.Skip("needs linux/amd64 to run GOARCH=386 binaries, and not -short")
	}
	if os.Getenv("REVIEW_CHILD") != "" {
		t.Skip("child")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	cmd := exec.Command(gobin, "test", "-count=1", "-run", "^TestReviewIntKeyOneLoad$", ".")
	cmd.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0", "REVIEW_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("GOARCH=386: %v\n%s", err, out)
	}
}

// TestReviewOddKeys: NaN, signed zeros, unhashable dynamic types, interface
// keys of different dynamic types, zero-size and huge keys.
func TestReviewOddKeys(t *testing.T) {
	ctx := context.Background()
	t.Run("NaN", func(t *testing.T) {
		var loads atomic.Int64
		c := newCache(t, func(_ context.Context, k float64) (float64, error) { loads.Add(1); return 1, nil }, nil)
		for range 3 {
			if _, err := c.Get(ctx, math.NaN()); err != nil {
				t.Fatal(err)
			}
		}
		if loads.Load() != 3 || c.Len() != 0 {
			t.Errorf("NaN: loads=%d Len=%d, want 3 and 0", loads.Load(), c.Len())
		}
		if err := c.Set(math.NaN(), 1); err == nil {
			t.Error("Set(NaN) = nil error")
		}
		if s := c.Stats(); s.Misses != 3 || s.Hits != 0 || s.Entries != 0 {
			t.Errorf("Stats = %+v", s)
		}
	})
	t.Run("SignedZero", func(t *testing.T) {
		var loads atomic.Int64
		c := newCache(t, func(_ context.Context, k float64) (float64, error) { loads.Add(1); return 1, nil }, nil)
		c.Get(ctx, 0.0)
		c.Get(ctx, math.Copysign(0, -1))
		if loads.Load() != 1 {
			t.Errorf("+0 and -0 are equal keys: %d loads, want 1", loads.Load())
		}
	})
	t.Run("AnyKeys", func(t *testing.T) {
		var loads atomic.Int64
		c := newCache(t, func(_ context.Context, k any) (string, error) { loads.Add(1); return fmt.Sprintf("%T", k), nil }, nil)
		a, _ := c.Get(ctx, any(int(1)))
		b, _ := c.Get(ctx, any(int64(1)))
		d, _ := c.Get(ctx, any(int(1)))
		if a != "int" || b != "int64" || d != "int" || loads.Load() != 2 {
			t.Errorf("int(1), int64(1), int(1): %q %q %q with %d loads", a, b, d, loads.Load())
		}
		c.Get(ctx, any(math.NaN()))
		c.Get(ctx, any(math.NaN()))
		if loads.Load() != 4 || c.Len() != 2 {
			t.Errorf("any(NaN) twice: loads=%d Len=%d, want 4, 2", loads.Load(), c.Len())
		}
		for name, f := range map[string]func(){
			"Get":     func() { c.Get(ctx, []int{1}) },
			"Acquire": func() { c.Acquire(ctx, []int{1}) },
			"Peek":    func() { c.Peek([]int{1}) },
			"Delete":  func() { c.Delete([]int{1}) },
			"Set":     func() { c.Set([]int{1}, "x") },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s of an unhashable key did not panic", name)
					}
				}()
				f()
			}()
		}
		rvWithin(t, "Get after an unhashable key", func() {
			if v, err := c.Get(ctx, any("s")); err != nil || v != "string" {
				t.Errorf("Get = %q, %v", v, err)
			}
			c.Clear()
			c.Len()
		})
	})
	t.Run("ZeroSizeAndHuge", func(t *testing.T) {
		var loads atomic.Int64
		c := newCache(t, func(_ context.Context, k struct{}) (int, error) { loads.Add(1); return 1, nil }, nil)
		c.Get(ctx, struct{}{})
		c.Get(ctx, struct{}{})
		if loads.Load() != 1 {
			t.Errorf("struct{}: %d loads", loads.Load())
		}
		type huge [4096]int64
		var hl atomic.Int64
		ch := newCache(t, func(_ context.Context, k huge) (int64, error) { hl.Add(1); return k[4095], nil }, &Options[huge, int64]{MaxEntries: 4})
		for i := range 10 {
			var k huge
			k[4095] = int64(i % 5)
			if v, _ := ch.Get(ctx, k); v != int64(i%5) {
				t.Errorf("huge key %d: %d", i, v)
			}
		}
		if hl.Load() != 10 { // 5 keys, bound 4, cyclic: every Get misses
			t.Errorf("huge keys: %d loads, want 10", hl.Load())
		}
	})
}

// ---------------------------------------------------------------------------
// The trie under concurrent lock-free reads

// TestReviewTableCollisions drives the table directly with chosen hashes:
// full 64-bit collisions, long common prefixes (deep splits) and
// deletes that prune, while readers look up keys that stay present and keys
// that were removed.
func TestReviewTableCollisions(t *testing.T) {
	var tab table[int, int]
	mk := func(k int, h uint64) *entry[int, int] {
		e := newEntry[int, int](k, h)
		e.val = k
		return e
	}
	// Hashes: 0..7 all equal (a collision); 8..15 share 60 bits with it; others
	// random-ish, sharing long prefixes.
	hashOf := func(k int) uint64 {
		switch {
		case k < 8:
			return 0xABCDEF0123456780
		case k < 16:
			return 0xABCDEF0123456780 | uint64(k-7)
		default:
			return 0xABCDEF0000000000 | uint64(k)*0x10001
		}
	}
	const stable = 64 // keys 0, 2, 4, ... < stable stay present
	var mu sync.Mutex
	present := map[int]*entry[int, int]{}
	for k := 0; k < stable; k += 2 {
		e := mk(k, hashOf(k))
		tab.insertLocked(e)
		present[k] = e
	}
	var removedUpTo atomic.Int64 // generation counter of removals
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fails atomic.Int64
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := 2 * rng.IntN(stable/2)
				if e := tab.lookup(hashOf(k), k); e == nil || e.key != k {
					fails.Add(1)
				}
				// An odd key that was removed, with its removal returned:
				// a lookup may find it only if it was re-added since.
				_ = removedUpTo.Load()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 20000 {
		k := 2*rng.IntN(stable/2) + 1
		mu.Lock()
		if e, ok := present[k]; ok {
			e.st.Or(stRemoved)
			tab.deleteLocked(e)
			delete(present, k)
			if tab.lookup(hashOf(k), k) != nil {
				t.Fatalf("key %d found after its delete", k)
			}
		} else {
			e := mk(k, hashOf(k))
			tab.insertLocked(e)
			present[k] = e
		}
		mu.Unlock()
		removedUpTo.Add(1)
	}
	close(stop)
	wg.Wait()
	if n := fails.Load(); n != 0 {
		t.Errorf("readers missed keys that stayed present %d times", n)
	}
	n := 0
	tab.rangeLocked(func(e *entry[int, int]) bool { n++; return true })
	if n != len(present) {
		t.Errorf("table holds %d entries, want %d", n, len(present))
	}
}

// ---------------------------------------------------------------------------
// Goexit and panics in callbacks

// TestReviewExpireAfterGoexit: an ExpireAfter that calls runtime.Goexit
// (t.FailNow in a callback does) must not hang the other Gets waiting for
// the load: "Panics and Goexit never hang or crash".
func TestReviewExpireAfterGoexit(t *testing.T) {
	var calls atomic.Int64
	c, err := New(func(_ context.Context, k string) (string, error) { return k, nil }, &Options[string, string]{
		ExpireAfter: func(string, string) time.Duration {
			if calls.Add(1) == 1 {
				runtime.Goexit()
			}
			return time.Hour
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Get(ctx, "k"); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Get whose ExpireAfter called Goexit: nil error, want one (as for a panic)")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("a Get whose load's ExpireAfter called runtime.Goexit hangs (10s)")
		cancel()
		<-done
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			t.Errorf("and Close hangs too: the load never finishes")
			return // the Close goroutine is left behind
		}
		return
	}
	cancel()
	rvWithin(t, "Close", func() { c.Close() })
}

// TestReviewExpireAfterPanic: a panicking ExpireAfter fails the load like a
// panicking Loader, and the key loads again.
func TestReviewExpireAfterPanic(t *testing.T) {
	var calls atomic.Int64
	c := newCache(t, func(_ context.Context, k string) (string, error) { return k, nil }, &Options[string, string]{
		ExpireAfter: func(string, string) time.Duration {
			if calls.Add(1) == 1 {
				panic("boom")
			}
			return time.Hour
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := c.Get(ctx, "k")
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Get = %v, want *PanicError", err)
	}
	if v, err := c.Get(ctx, "k"); err != nil || v != "k" {
		t.Fatalf("second Get = %q, %v", v, err)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d", c.Len())
	}
}

// TestReviewLoaderGoexitAndPanic: both run modes (inline and in a goroutine).
func TestReviewLoaderGoexitAndPanic(t *testing.T) {
	for _, inline := range []bool{true, false} {
		t.Run(fmt.Sprint("inline=", inline), func(t *testing.T) {
			gate := make(chan struct{})
			var mode atomic.Int64
			c := newCache(t, func(_ context.Context, k string) (string, error) {
				<-gate
				switch mode.Load() {
				case 0:
					runtime.Goexit()
				case 1:
					panic(errors.New("p"))
				}
				return k, nil
			}, nil)
			for m := range 2 {
				mode.Store(int64(m))
				gate = make(chan struct{})
				startCtx := context.Background()
				if !inline {
					var cancel context.CancelFunc
					startCtx, cancel = context.WithCancel(startCtx)
					defer cancel()
				}
				starterErr := make(chan error, 1)
				go func() {
					_, err := c.Get(startCtx, "k")
					starterErr <- err
				}()
				waitFor(t, func() bool { e := c.tab.lookup(c.hash("k"), "k"); return e != nil })
				joinErr := make(chan error, 1)
				go func() { _, err := c.Get(context.Background(), "k"); joinErr <- err }()
				waitFor(t, func() bool { return c.Stats().Shared == uint64(m+1) })
				close(gate)
				var err error
				rvWithin(t, "joiner", func() { err = <-joinErr })
				if m == 0 && !errors.Is(err, ErrLoaderExited) {
					t.Errorf("Goexit: joiner got %v", err)
				}
				var pe *PanicError
				if m == 1 && !errors.As(err, &pe) {
					t.Errorf("panic: joiner got %v", err)
				}
				if m == 1 || !inline {
					rvWithin(t, "starter", func() { err = <-starterErr })
				}
			}
			mode.Store(2)
			gate = make(chan struct{})
			close(gate)
			if v, err := c.Get(context.Background(), "k"); err != nil || v != "k" {
				t.Errorf("after Goexit and panic: %q, %v", v, err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Leases

// TestReviewLeaseExactlyOnce: Acquire racing Delete, Set, eviction, Clear and
// Close: every stored value gets exactly one OnEvict, after its last release.
func TestReviewLeaseExactlyOnce(t *testing.T) {
	var seq atomic.Int64
	type val struct {
		id        int64
		leases    atomic.Int64
		evicted   atomic.Int64
		whileHeld atomic.Int64
	}
	var mu sync.Mutex
	all := map[int64]*val{}
	c, err := New(func(_ context.Context, k int) (*val, error) {
		v := &val{id: seq.Add(1)}
		mu.Lock()
		all[v.id] = v
		mu.Unlock()
		return v, nil
	}, &Options[int, *val]{
		MaxEntries: 8,
		OnEvict: func(_ int, v *val, _ Reason) {
			if v.leases.Load() != 0 {
				v.whileHeld.Add(1)
			}
			v.evicted.Add(1)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := rng.IntN(12)
				var getCtx context.Context = context.Background()
				if rng.IntN(2) == 0 {
					getCtx = ctx
				}
				v, release, err := c.Acquire(getCtx, k)
				if err != nil {
					if errors.Is(err, ErrClosed) {
						release()
						return
					}
					t.Error(err)
					return
				}
				v.leases.Add(1)
				runtime.Gosched()
				v.leases.Add(-1)
				release()
				release() // idempotent
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(7, 7))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch rng.IntN(10) {
			case 0:
				c.Clear()
			case 1, 2, 3:
				c.Delete(rng.IntN(12))
			case 4:
				v := &val{id: seq.Add(1)}
				mu.Lock()
				all[v.id] = v
				mu.Unlock()
				c.Set(rng.IntN(12), v)
			default:
				runtime.Gosched()
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	closeRet := make(chan struct{})
	go func() { c.Close(); close(closeRet) }()
	<-closeRet
	close(stop)
	wg.Wait()
	c.Close()
	if s := c.Stats(); s.AwaitingRelease != 0 || s.Entries != 0 {
		t.Errorf("after Close and every release: %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	bad := 0
	for id, v := range all {
		if n := v.evicted.Load(); n > 1 || v.whileHeld.Load() != 0 {
			if bad++; bad < 5 {
				t.Errorf("value %d: %d OnEvicts, %d while leased", id, n, v.whileHeld.Load())
			}
		}
	}
}

// TestReviewReleaseAfterClose: a lease outliving Close gets OnEvict(Closed)
// at its release, once; AwaitingRelease drops to 0; Close from that OnEvict
// returns.
func TestReviewReleaseAfterClose(t *testing.T) {
	var log []string
	var c *KeyedCache[string, string]
	c = newCache(t, func(_ context.Context, k string) (string, error) { return k, nil }, &Options[string, string]{
		OnEvict: func(k, v string, r Reason) {
			log = append(log, k+":"+r.String())
			c.Close()
			c.Get(context.Background(), k)
		},
	})
	_, rel, err := c.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	_, rel2, _ := c.Acquire(context.Background(), "a")
	rvWithin(t, "Close", func() { c.Close() })
	if s := c.Stats(); s.AwaitingRelease != 1 {
		t.Errorf("AwaitingRelease = %d, want 1", s.AwaitingRelease)
	}
	rel()
	rel()
	if len(log) != 0 {
		t.Errorf("OnEvict ran before the last release: %v", log)
	}
	rvWithin(t, "release", rel2)
	rel2()
	if !slices.Equal(log, []string{"a:Closed"}) {
		t.Errorf("log = %v", log)
	}
	if s := c.Stats(); s.AwaitingRelease != 0 {
		t.Errorf("AwaitingRelease = %d, want 0", s.AwaitingRelease)
	}
}

// ---------------------------------------------------------------------------
// Close from everywhere

func TestReviewCloseFromEverywhere(t *testing.T) {
	ctx := context.Background()
	t.Run("OnEvictDeleted", func(t *testing.T) {
		var c *KeyedCache[string, string]
		var got []string
		c = newCache(t, func(_ context.Context, k string) (string, error) { return k, nil }, &Options[string, string]{
			OnEvict: func(k, v string, r Reason) {
				got = append(got, k+":"+r.String())
				if r == Deleted {
					c.Close()
				}
			},
		})
		c.Get(ctx, "a")
		c.Get(ctx, "b")
		rvWithin(t, "Delete", func() { c.Delete("a") })
		slices.Sort(got)
		if !slices.Equal(got, []string{"a:Deleted", "b:Closed"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("AllBody", func(t *testing.T) {
		var got []string
		c := newCache(t, func(_ context.Context, k string) (string, error) { return k, nil }, &Options[string, string]{
			OnEvict: func(k, v string, r Reason) { got = append(got, k+":"+r.String()) },
		})
		c.Get(ctx, "a")
		c.Get(ctx, "b")
		n := 0
		rvWithin(t, "All with Close", func() {
			for range c.All() {
				n++
				c.Close()
				c.Get(ctx, "z")
				c.Keys()
			}
		})
		if n != 2 || len(got) != 2 {
			t.Errorf("n=%d got=%v", n, got)
		}
	})
	t.Run("ConcurrentCloses", func(t *testing.T) {
		var ran atomic.Int64
		c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{
			OnEvict: func(int, int, Reason) { time.Sleep(time.Millisecond); ran.Add(1) },
		})
		for i := range 20 {
			c.Get(ctx, i)
		}
		var wg sync.WaitGroup
		var early atomic.Int64
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Close()
				if ran.Load() != 20 {
					early.Add(1)
				}
			}()
		}
		rvWithin(t, "Closes", wg.Wait)
		if early.Load() != 0 {
			t.Errorf("%d Closes returned before every OnEvict(Closed) ran", early.Load())
		}
	})
	t.Run("DuringLoad", func(t *testing.T) {
		started := make(chan struct{})
		var sawCancel atomic.Bool
		c := newCache(t, func(ctx context.Context, k string) (string, error) {
			close(started)
			<-ctx.Done()
			sawCancel.Store(true)
			return "late", nil
		}, &Options[string, string]{OnEvict: func(string, string, Reason) { t.Error("OnEvict of a stale value") }})
		res := make(chan error, 1)
		go func() { _, err := c.Get(ctx, "k"); res <- err }() // inline load
		<-started
		rvWithin(t, "Close during an inline load", func() { c.Close() })
		if !sawCancel.Load() {
			t.Error("Close returned before the Loader returned")
		}
		rvWithin(t, "Get", func() {
			if err := <-res; err != nil {
				t.Errorf("the starter of a stale load gets its result, got %v", err)
			}
		})
		if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get after Close: %v", err)
		}
	})
	t.Run("DuringRefresh", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var loads atomic.Int64
			var cancelled atomic.Bool
			var evicts []string
			c := newCache(t, func(ctx context.Context, k string) (string, error) {
				if loads.Add(1) == 1 {
					return "v1", nil
				}
				<-ctx.Done()
				cancelled.Store(true)
				return "v2", nil
			}, &Options[string, string]{RefreshAfter: time.Minute, OnEvict: func(k, v string, r Reason) { evicts = append(evicts, v+":"+r.String()) }})
			c.Get(ctx, "k")
			time.Sleep(2 * time.Minute)
			if v, _ := c.Get(ctx, "k"); v != "v1" {
				t.Errorf("hit = %q", v)
			}
			synctest.Wait()
			c.Close()
			if !cancelled.Load() {
				t.Error("Close returned before the refresh's Loader returned")
			}
			// The refresh's Loader returned v2 although cancelled: no Get
			// receives it, so it leaves too, before Close returns.
			if !slices.Equal(evicts, []string{"v1:Closed", "v2:Closed"}) {
				t.Errorf("evicts = %v", evicts)
			}
		})
	})
}

// ---------------------------------------------------------------------------
// Loader context

func TestReviewLoaderContext(t *testing.T) {
	type ck struct{}
	t.Run("ValuesAndLastWaiter", func(t *testing.T) {
		gotVal := make(chan any, 1)
		ctxs := make(chan context.Context, 1)
		c := newCache(t, func(ctx context.Context, k string) (string, error) {
			gotVal <- ctx.Value(ck{})
			ctxs <- ctx
			<-ctx.Done()
			return "", ctx.Err()
		}, nil)
		c1, cancel1 := context.WithCancel(context.WithValue(context.Background(), ck{}, "starter"))
		c2, cancel2 := context.WithCancel(context.Background())
		e1, e2 := make(chan error, 1), make(chan error, 1)
		go func() { _, err := c.Get(c1, "k"); e1 <- err }()
		lctx := <-ctxs
		if v := <-gotVal; v != "starter" {
			t.Errorf("Value = %v", v)
		}
		go func() { _, err := c.Get(c2, "k"); e2 <- err }()
		waitFor(t, func() bool { return c.Stats().Shared == 1 })
		cancel1()
		if err := <-e1; !errors.Is(err, context.Canceled) {
			t.Errorf("starter: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
		if lctx.Err() != nil {
			t.Error("the load was cancelled while a Get still waited")
		}
		cancel2()
		<-e2
		waitFor(t, func() bool { return lctx.Err() != nil })
	})
}

// ---------------------------------------------------------------------------
// Stats

func TestReviewStatsExact(t *testing.T) {
	for _, pol := range []Policy{LRU, TinyLFU} {
		t.Run(pol.String(), func(t *testing.T) {
			c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 16, Policy: pol})
			const G, N = 8, 5000
			var wg sync.WaitGroup
			for g := range G {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 3))
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					for i := range N {
						k := rng.IntN(24)
						if i%2 == 0 {
							_, rel, _ := c.Acquire(ctx, k)
							rel()
						} else {
							c.Get(context.Background(), k)
						}
						if i%100 == 0 {
							c.Delete(k)
						}
					}
				}()
			}
			wg.Wait()
			s := c.Stats()
			if s.Hits+s.Misses != G*N {
				t.Errorf("Hits+Misses = %d, want %d (%+v)", s.Hits+s.Misses, G*N, s)
			}
			if s.Entries != c.Len() || s.Entries != len(c.Keys()) || s.Entries > 16 {
				t.Errorf("Entries %d, Len %d, Keys %d", s.Entries, c.Len(), len(c.Keys()))
			}
			if s.AwaitingRelease != 0 {
				t.Errorf("AwaitingRelease = %d", s.AwaitingRelease)
			}
			if s.Loads != s.Misses-s.Shared {
				t.Errorf("Loads %d != Misses %d - Shared %d", s.Loads, s.Misses, s.Shared)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// LRU exactness for calls that do not overlap

// TestReviewLRUHandOff: goroutines that hand the cache to each other give the
// order of a textbook LRU.
func TestReviewLRUHandOff(t *testing.T) {
	const max = 8
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: max})
	var model []int // LRU first
	touch := func(k int) { model = lruTouch(model, k, max) }
	const G = 6
	chans := make([]chan int, G)
	for g := range chans {
		chans[g] = make(chan int, 1)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(1, 1))
	keys := make([]int, 20000)
	for i := range keys {
		keys[i] = rng.IntN(12)
	}
	var bad atomic.Int64
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range chans[g] {
				if i >= len(keys) {
					close(done)
					return
				}
				k := keys[i]
				if i%3 == 0 {
					_, rel, _ := c.Acquire(context.Background(), k)
					rel()
				} else {
					c.Get(context.Background(), k)
				}
				touch(k)
				if i%97 == 0 && !slices.Equal(c.Keys(), model) {
					if bad.Add(1) == 1 {
						t.Errorf("step %d (goroutine %d): Keys = %v, want %v", i, g, c.Keys(), model)
					}
				}
				chans[(g+1+i%2)%G] <- i + 1
			}
		}()
	}
	chans[0] <- 0
	<-done
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	if !slices.Equal(c.Keys(), model) {
		t.Errorf("final Keys = %v, want %v", c.Keys(), model)
	}
}

// ---------------------------------------------------------------------------
// Removed means released

func TestReviewRemovedUnreachable(t *testing.T) {
	type big struct {
		_ [1 << 10]byte
		n int
	}
	ctx := context.Background()
	for _, pol := range []Policy{LRU, TinyLFU} {
		t.Run(pol.String(), func(t *testing.T) {
			var ptrs []weak.Pointer[big]
			var mu sync.Mutex
			c := newCache(t, func(_ context.Context, k int) (*big, error) {
				b := &big{n: k}
				mu.Lock()
				ptrs = append(ptrs, weak.Make(b))
				mu.Unlock()
				return b, nil
			}, &Options[int, *big]{MaxEntries: 4, Policy: pol, OnEvict: func(int, *big, Reason) {}})
			for i := range 50 {
				for range 3 {
					c.Get(ctx, i%10)
				}
				_, rel, _ := c.Acquire(ctx, i%10)
				rel()
			}
			c.Delete(9)
			c.Set(8, &big{})
			c.Clear()
			for range 4 {
				runtime.GC()
			}
			alive := 0
			for _, p := range ptrs {
				if p.Value() != nil {
					alive++
				}
			}
			if alive != 0 {
				t.Errorf("%d of %d removed values still reachable", alive, len(ptrs))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Re-entrant callbacks

// TestReviewReentrantCallbacks: OnEvict calling Get of the very key it is
// given, from each place an OnEvict runs (a Get's sweep, the Get that
// receives a load that evicted, a refresh's goroutine, Delete, a release);
// ExpireAfter calling Get, Set, Peek and Delete of other keys.
func TestReviewReentrantCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *KeyedCache[string, string]
		var depth atomic.Int64
		var seen sync.Map
		var n atomic.Int64
		c = newCache(t, func(_ context.Context, k string) (string, error) {
			return fmt.Sprint(k, "#", n.Add(1)), nil
		}, &Options[string, string]{
			MaxEntries:   2,
			RefreshAfter: time.Minute,
			ExpireAfter: func(k, v string) time.Duration {
				if k != "side" && k != "other" {
					c.Peek("other")
					c.Delete("nothing")
					c.Set("side", "s")
				}
				if k == "short" {
					return time.Second
				}
				return time.Hour
			},
			OnEvict: func(k, v string, r Reason) {
				seen.Store(r, true)
				if k == "side" {
					return
				}
				if depth.Add(1) > 3 {
					depth.Add(-1)
					return
				}
				defer depth.Add(-1)
				c.Get(context.Background(), k)
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		func() { // synctest reports a deadlock itself
			c.Get(ctx, "a")
			c.Get(ctx, "b")
			c.Get(ctx, "c") // evicts, in the Get that receives the load
			c.Get(context.Background(), "short")
			time.Sleep(2 * time.Second)
			c.Get(ctx, "d") // sweeps "short"
			time.Sleep(2 * time.Minute)
			c.Get(ctx, "d") // refresh, whose goroutine replaces
			synctest.Wait()
			c.Delete("d")
			_, rel, _ := c.Acquire(ctx, "e")
			c.Delete("e")
			rel()
			c.Clear()
		}()
		for _, r := range []Reason{Evicted, Replaced, Cleared} {
			if _, ok := seen.Load(r); !ok {
				t.Errorf("no OnEvict with %v", r)
			}
		}
	})
}

// TestReviewLRUExactAgain: the documentation says that after hits overlapped
// "the cache returns to the exact order when four drains in a row find only
// one stripe in use". Here one goroutine, after an overlap, alternates hits
// with Keys (each Keys is a drain that finds only its stripe in use), many
// more than four times; its order must then be exact again.
func TestReviewLRUExactAgain(t *testing.T) {
	c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, &Options[int, int]{MaxEntries: 4})
	ctx := context.Background()
	for k := range 4 {
		c.Get(ctx, k)
	}
	// Make hits overlap until the cache notices.
	deadline := time.Now().Add(5 * time.Second)
	for !c.stripes.concurrent.Load() && time.Now().Before(deadline) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 2000 {
					c.Get(ctx, (g+i)%4)
				}
			}()
		}
		c.mu.Lock() // a call holding the lock meanwhile, as a miss would
		time.Sleep(time.Millisecond)
		c.mu.Unlock()
		wg.Wait()
	}
	if !c.stripes.concurrent.Load() {
		t.Skip("could not make hits overlap")
	}
	// The documented way back: four drains in a row that find one stripe
	// in use with at least exactBatch recorded hits (one hit in
	// sampleEvery is recorded meanwhile).
	for range exactAfter + 1 {
		for i := range exactBatch * sampleEvery {
			c.Get(ctx, i%2)
		}
		c.Keys()
	}
	for _, k := range []int{3, 2, 1, 0} {
		c.Get(ctx, k)
	}
	if got := c.Keys(); !slices.Equal(got, []int{3, 2, 1, 0}) {
		t.Errorf("after %d single-stripe drains of %d hits, hits 3,2,1,0 give Keys %v, want [3 2 1 0] (concurrent mode still %v)", exactAfter+1, exactBatch*sampleEvery, got, c.stripes.concurrent.Load())
	}
}
