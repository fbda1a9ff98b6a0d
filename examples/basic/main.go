// Command basic shows the generic cache on its own: one connection pool per
// database address, built once and shared by every goroutine that asks,
// with a bound, a lifetime per pool, refresh-ahead, leases that keep a pool
// open while it is in use, an eviction callback and statistics.
//
//	go run ./examples/basic
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reuse-go/reuse/keyedcache"
)

// Pool stands for anything slow to build and meant to be shared: here, a
// pool of database connections to one address, whose credentials last for
// Lifetime.
type Pool struct {
	Addr     string
	Build    int // 1 for the first pool built for Addr, 2 for the next, ...
	Lifetime time.Duration
	closed   atomic.Bool
}

// Close releases the pool; the cache's OnEvict calls it.
func (p *Pool) Close() { p.closed.Store(true) }

// Closed reports whether Close was called.
func (p *Pool) Closed() bool { return p.closed.Load() }

func main() {
	if err := run(context.Background(), os.Stdout, 20*time.Millisecond, time.Second, func() {}); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// run prints the demonstration to w. dial is how long building a pool
// takes; life is how long its credentials last; settle waits until a
// background refresh has finished (in a test, synctest.Wait).
func run(ctx context.Context, w io.Writer, dial, life time.Duration, settle func()) error {
	// OnEvict prints too, from a refresh's goroutine at times.
	w = &lockedWriter{w: w}
	var (
		mu     sync.Mutex
		builds = map[string]int{}
	)
	pools, err := keyedcache.New(func(ctx context.Context, addr string) (*Pool, error) {
		mu.Lock()
		builds[addr]++
		n := builds[addr]
		mu.Unlock()
		select {
		case <-time.After(dial): // stands for dialling and handshakes
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &Pool{Addr: addr, Build: n, Lifetime: life}, nil
	}, &keyedcache.Options[string, *Pool]{
		MaxEntries: 2,
		// Each pool expires when its credentials do.
		ExpireAfter: func(_ string, p *Pool) time.Duration { return p.Lifetime },
		// A pool half way through its life is rebuilt in the background,
		// while callers go on using the old one.
		RefreshAfter: life / 2,
		OnEvict: func(addr string, p *Pool, why keyedcache.Reason) {
			p.Close()
			fmt.Fprintf(w, "  OnEvict: closed %s build %d (%v)\n", addr, p.Build, why)
		},
	})
	if err != nil {
		return err
	}
	defer pools.Close()

	fmt.Fprintln(w, "1. 100 goroutines ask for the pools of 2 databases at once:")
	var g errgroup.Group
	for i := range 100 {
		addr := []string{"db-eu:5432", "db-us:5432"}[i%2]
		g.Go(func() error {
			_, err := pools.Get(ctx, addr)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s := pools.Stats()
	fmt.Fprintf(w, "  %d pools built, one per address: the other %d Gets were served by those builds\n", s.Loads, 100-s.Loads)
	fmt.Fprintf(w, "  (%d waited for a build already in flight, %d found a pool ready)\n", s.Shared, s.Hits)

	fmt.Fprintln(w, "2. a pool in use is never closed under its user:")
	eu, release, err := pools.Acquire(ctx, "db-eu:5432")
	if err != nil {
		return err
	}
	if _, err := pools.Get(ctx, "db-us:5432"); err != nil { // db-eu is now the least recently used
		return err
	}
	if _, err := pools.Get(ctx, "db-ap:5432"); err != nil { // a third pool: MaxEntries 2 evicts db-eu
		return err
	}
	fmt.Fprintf(w, "  db-eu was evicted while leased: cached now %v, db-eu closed: %v, awaiting release: %d\n",
		pools.Keys(), eu.Closed(), pools.Stats().AwaitingRelease)
	release() // the last lease: OnEvict runs now, here
	fmt.Fprintf(w, "  after release, db-eu closed: %v\n", eu.Closed())

	fmt.Fprintf(w, "3. after %v, a Get returns the pool at once and rebuilds it in the background:\n", life/2)
	time.Sleep(life / 2)
	us, err := pools.Get(ctx, "db-us:5432")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  the Get returned build %d\n", us.Build)
	time.Sleep(2 * dial)
	settle()
	if us, err = pools.Get(ctx, "db-us:5432"); err != nil {
		return err
	}
	fmt.Fprintf(w, "  the next Get returns build %d\n", us.Build)

	fmt.Fprintf(w, "4. a pool not asked for again expires with its credentials (%v):\n", life)
	time.Sleep(life / 2)
	ap, err := pools.Get(ctx, "db-ap:5432")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  db-ap:5432 is now build %d\n", ap.Build)

	s = pools.Stats()
	fmt.Fprintln(w, "5. statistics:")
	fmt.Fprintf(w, "  %d Gets: %d hits, %d misses; %d of the misses waited for a build in flight, so %d builds ran\n",
		s.Hits+s.Misses, s.Hits, s.Misses, s.Shared, s.Loads)
	fmt.Fprintf(w, "  (%d of them refreshes); hit ratio %.2f counts only Gets that found a pool ready\n", s.Refreshes, s.HitRatio())
	fmt.Fprintf(w, "  evictions %d, expirations %d, pools cached %d\n", s.Evictions, s.Expirations, s.Entries)
	fmt.Fprintln(w, "6. Close closes what is left:")
	return pools.Close()
}

// A lockedWriter serialises the writes of several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
