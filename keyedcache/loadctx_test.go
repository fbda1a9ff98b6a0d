package keyedcache

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests of this file hold the contract of the Loader's context for a
// load that makes no load struct: a Get with context.Background or
// context.TODO, of a key equal to itself, not an Acquire (load.go).

// TestMissAllocatesNoLoad holds the cost of such a miss: one allocation
// beyond what the Loader allocates, the entry (80 bytes), and a share of a
// slab of Loader contexts (16 bytes each), and not the load's state (88
// bytes).
func TestMissAllocatesNoLoad(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, opts := range []*Options[int, int]{nil, {MaxEntries: 64}, {MaxEntries: 64, Policy: TinyLFU}, {MaxEntries: 1024}} {
		c := newCache(t, func(_ context.Context, k int) (int, error) { return k, nil }, opts)
		k := 0 // every Get below asks for a key never asked for before
		for _, ctx := range []context.Context{context.Background(), context.TODO()} {
			miss := func() {
				k++
				if v, err := c.Get(ctx, k+1_000_000); err != nil || v != k+1_000_000 {
					t.Fatalf("Get = %v, %v", v, err)
				}
			}
			for range 1000 {
				miss() // past the table's first growths
			}
			const n = 10000
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range n {
				miss()
			}
			runtime.ReadMemStats(&after)
			if got := c.Stats().Loads; got != uint64(k) {
				t.Fatalf("Loads = %d after %d keys: not every Get missed", got, k)
			}
			// The entry, a slab of 256 contexts every 256 misses, and,
			// while the trie under a cache at its bound takes its shape
			// (the first phase at 1024, 1.04), the nodes of its splits;
			// after that the table reuses its nodes (1.004). 1.06 allows
			// for those, and not for a second allocation in 17 misses.
			// Unbounded, the table grows too, by about 20 bytes an entry.
			allocs := float64(after.Mallocs-before.Mallocs) / n
			t.Logf("opts %+v, %v: %.3f allocations per miss", opts, ctx, allocs)
			if opts != nil && allocs > 1.06 {
				t.Errorf("a miss with %v allocates %.3f times, want 1 (the entry)", ctx, allocs)
			}
			// 80 + 16, and the table's nodes: at the bound, the buckets
			// of splits; unbounded, about 20 to 40 bytes an entry as the
			// table grows. With the load's state it was over 170.
			perMiss := (after.TotalAlloc - before.TotalAlloc) / n
			t.Logf("opts %+v, %v: %d bytes per miss", opts, ctx, perMiss)
			if limit := uint64(110); opts == nil && perMiss > limit+40 || opts != nil && perMiss > limit {
				t.Errorf("a miss with %v allocates %d bytes, want at most %d", ctx, perMiss, limit)
			}
		}
	}
}

// TestLoadContextWithoutLoad checks the context a Get with
// context.Background hands to the Loader: live while the load runs, ended
// (Err and Done) once it is over, with no values and no deadline, usable as
// a parent, and the same whether Done is first asked for during the load,
// after it, or never.
func TestLoadContextWithoutLoad(t *testing.T) {
	for _, tt := range []struct {
		name      string
		doneEarly bool
	}{{"Done during the load", true}, {"Done after the load", false}} {
		t.Run(tt.name, func(t *testing.T) {
			var got context.Context
			c := newCache(t, func(ctx context.Context, k string) (string, error) {
				got = ctx
				if err := ctx.Err(); err != nil {
					return "", errors.New("Err during the load: " + err.Error())
				}
				if _, ok := ctx.Deadline(); ok {
					return "", errors.New("a deadline")
				}
				if ctx.Value(ctxKey{}) != nil {
					return "", errors.New("a value")
				}
				if tt.doneEarly {
					select {
					case <-ctx.Done():
						return "", errors.New("Done closed during the load")
					default:
					}
					child, cancel := context.WithTimeout(ctx, time.Hour)
					defer cancel()
					if child.Err() != nil {
						return "", errors.New("a child ended during the load")
					}
				}
				return k, nil
			}, nil)
			if v, err := c.Get(context.Background(), "k"); err != nil || v != "k" {
				t.Fatalf("Get = %q, %v", v, err)
			}
			if err := got.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("after the load, ctx.Err() = %v, want context.Canceled", err)
			}
			select {
			case <-got.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("after the load, ctx.Done() is not closed")
			}
			child, cancel := context.WithCancel(got)
			defer cancel()
			if child.Err() == nil {
				t.Error("a child of the ended context is live")
			}
		})
	}
}

// TestLoadContextWithoutLoadCancelledByClose checks that Close cancels a
// load that made no load struct, whether its Loader waits on Done or polls
// Err, and waits for it.
func TestLoadContextWithoutLoadCancelledByClose(t *testing.T) {
	for _, poll := range []bool{false, true} {
		started := make(chan struct{})
		var returned atomic.Bool
		c, err := New(func(ctx context.Context, k int) (int, error) {
			close(started)
			if poll {
				for ctx.Err() == nil {
					time.Sleep(time.Millisecond)
				}
			} else {
				<-ctx.Done()
			}
			returned.Store(true)
			return 0, ctx.Err()
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() { _, err := c.Get(context.Background(), 1); got <- err }()
		<-started
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		// The Get may return after Close does; the Loader may not.
		if !returned.Load() {
			t.Errorf("poll=%v: Close returned before the load it cancelled", poll)
		}
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Errorf("poll=%v: Get = %v, want context.Canceled from the Loader", poll, err)
		}
	}
}

// TestJoinALoadWithoutLoad checks that Gets joining a load that made no
// load struct, with contexts that can end, share it: they receive its value,
// a waiter that leaves does not cancel it while its starter waits, and the
// value is stored once.
func TestJoinALoadWithoutLoad(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	var loads int
	c := newCache(t, func(ctx context.Context, k int) (int, error) {
		loads++
		close(started)
		<-release
		return k * 2, ctx.Err()
	}, nil)
	var wg sync.WaitGroup
	first := make(chan error, 1)
	wg.Go(func() {
		v, err := c.Get(context.Background(), 21)
		if err == nil && v != 42 {
			err = errors.New("wrong value")
		}
		first <- err
	})
	<-started
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	wg.Go(func() { _, err := c.Get(leaving, 21); left <- err })
	joined := make(chan error, 1)
	wg.Go(func() {
		v, err := c.Get(context.WithValue(context.Background(), ctxKey{}, 1), 21)
		if err == nil && v != 42 {
			err = errors.New("wrong value")
		}
		joined <- err
	})
	waitFor(t, func() bool { return c.Stats().Shared == 2 })
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("the waiter that left got %v", err)
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Errorf("starter: %v (the load was cancelled by a waiter?)", err)
	}
	if err := <-joined; err != nil {
		t.Errorf("waiter: %v", err)
	}
	if v, err := c.Get(context.Background(), 21); err != nil || v != 42 || loads != 1 {
		t.Errorf("after: Get = %v, %v with %d loads, want 42, nil, 1", v, err, loads)
	}
}

// TestDeleteALoadWithoutLoad checks that Delete and Set make such a load
// stale: its Get still receives the value, and nothing is stored.
func TestDeleteALoadWithoutLoad(t *testing.T) {
	for _, how := range []string{"Delete", "Set", "Clear"} {
		release := make(chan struct{})
		started := make(chan struct{})
		n := 0
		c := newCache(t, func(ctx context.Context, k int) (int, error) {
			n++
			if n == 1 {
				close(started)
				<-release
			}
			return n, nil
		}, nil)
		got := make(chan int, 1)
		go func() { v, _ := c.Get(context.Background(), 1); got <- v }()
		<-started
		switch how {
		case "Delete":
			c.Delete(1)
		case "Set":
			if err := c.Set(1, 100); err != nil {
				t.Fatal(err)
			}
		case "Clear":
			c.Clear()
		}
		close(release)
		if v := <-got; v != 1 {
			t.Errorf("%s: the load's Get received %d, want 1", how, v)
		}
		want := 2
		if how == "Set" {
			want = 100
		}
		if v, err := c.Get(context.Background(), 1); err != nil || v != want {
			t.Errorf("%s: Get after = %d, %v, want %d: a stale load was stored", how, v, err, want)
		}
	}
}

// TestLoadContextDoneRacesTheEnd asks for Done from another goroutine as
// the load ends, many times: the channel must close every time, whichever
// of Done and the load's end comes first (run with -race).
func TestLoadContextDoneRacesTheEnd(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	c := newCache(t, func(ctx context.Context, k int) (int, error) {
		wg.Go(func() {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Errorf("key %d: the Loader's Done never closed", k)
			}
		})
		return k, nil
	}, nil)
	for k := range 2000 {
		if _, err := c.Get(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoaderContextNeedsNoGoroutine checks that contexts made from the
// Loader's (as a Loader that calls a server with a timeout makes them)
// follow its cancellation without a goroutine each: the Loader's context
// has an AfterFunc, which the context package uses. It checks too that
// they are cancelled when the load is, and that context.AfterFunc runs, or
// is stopped, as documented.
func TestLoaderContextNeedsNoGoroutine(t *testing.T) {
	const children = 100
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"Background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancellable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				made    []context.Context
				cancels []context.CancelFunc
				grew    int
				ran     = make(chan struct{})
				stopped bool
			)
			release := make(chan struct{})
			started := make(chan struct{})
			c, err := New(func(ctx context.Context, k int) (int, error) {
				before := runtime.NumGoroutine()
				for range children {
					child, cancel := context.WithTimeout(ctx, time.Hour)
					made = append(made, child)
					cancels = append(cancels, cancel)
				}
				grew = runtime.NumGoroutine() - before
				context.AfterFunc(ctx, func() { close(ran) })
				stop := context.AfterFunc(ctx, func() { t.Error("a stopped AfterFunc ran") })
				stopped = stop()
				close(started)
				<-release
				return k, nil
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			got := make(chan error, 1)
			go func() { _, err := c.Get(ctx, 1); got <- err }()
			<-started
			if grew >= children/2 {
				t.Errorf("%d contexts made from the Loader's started %d goroutines", children, grew)
			}
			if !stopped {
				t.Error("stop of a pending AfterFunc returned false")
			}
			for _, m := range made {
				if m.Err() != nil {
					t.Fatal("a child ended while the load runs")
				}
			}
			close(release)
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			for i, m := range made {
				select {
				case <-m.Done():
				case <-time.After(5 * time.Second):
					t.Fatalf("child %d not cancelled at the end of the load", i)
				}
			}
			select {
			case <-ran:
			case <-time.After(5 * time.Second):
				t.Fatal("context.AfterFunc did not run at the end of the load")
			}
			for _, cancel := range cancels {
				cancel()
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
