// Command basic shows the generic cache on its own: one connection pool per
// database address, built once and shared by every goroutine that asks,
// with an LRU bound, a time to live, an eviction callback and statistics.
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
// pool of database connections to one address.
type Pool struct {
	Addr   string
	Build  int // 1 for the first pool built for Addr, 2 for the next, ...
	closed atomic.Bool
}

// Close releases the pool; the cache's OnEvict calls it.
func (p *Pool) Close() { p.closed.Store(true) }

func main() {
	if err := run(context.Background(), os.Stdout, 20*time.Millisecond, 300*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// run prints the demonstration to w. dial is how long building a pool
// takes; ttl is how long a pool lives.
func run(ctx context.Context, w io.Writer, dial, ttl time.Duration) error {
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
		return &Pool{Addr: addr, Build: n}, nil
	}, &keyedcache.Options[string, *Pool]{
		MaxEntries: 2,
		TTL:        ttl,
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
	fmt.Fprintf(w, "  pools built: %d, one per address; the other %d Gets shared them\n", s.Loads, 100-s.Loads)
	fmt.Fprintf(w, "  (%d joined a build in flight, %d found the pool ready)\n", s.Shared, s.Hits)

	fmt.Fprintln(w, "2. a third database, with MaxEntries 2, evicts the least recently used pool:")
	if _, err := pools.Get(ctx, "db-eu:5432"); err != nil { // db-eu is now the most recent
		return err
	}
	if _, err := pools.Get(ctx, "db-ap:5432"); err != nil {
		return err
	}
	fmt.Fprintf(w, "  cached now, least recently used first: %v\n", pools.Keys())

	fmt.Fprintf(w, "3. after the TTL (%v) every pool has expired; the next Get builds a new one:\n", ttl)
	time.Sleep(ttl + ttl/10)
	p, err := pools.Get(ctx, "db-eu:5432")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  db-eu:5432 is now build %d\n", p.Build)

	s = pools.Stats()
	fmt.Fprintln(w, "4. statistics:")
	fmt.Fprintf(w, "  hits %d, misses %d (of which %d shared a build), loads %d\n", s.Hits, s.Misses, s.Shared, s.Loads)
	fmt.Fprintf(w, "  evictions %d, expirations %d, entries %d, hit ratio %.2f\n", s.Evictions, s.Expirations, s.Entries, s.HitRatio())
	fmt.Fprintln(w, "5. Close closes what is left:")
	return pools.Close()
}
