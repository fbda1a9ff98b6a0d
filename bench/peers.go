package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/ristretto/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

// peers are the caches keyedcache is compared with.
var peers = []Impl{
	{Name: "syncmap", Label: "sync.Map", New: newSyncMap},
	{Name: "lru", Label: "golang-lru/v2", Bounded: true, New: newLRU},
	{Name: "otter", Label: "otter v2", Bounded: true, New: newOtter},
	{Name: "ristretto", Label: "ristretto v2", Bounded: true, New: newRistretto},
}

// errNoSize is returned when a bounded cache is asked for without a bound.
var errNoSize = errors.New("bench: a bounded cache needs a size > 0")

// The check-then-add GetOrLoad is written out in syncMap, lruCache and
// ristrettoCache on purpose. A generic helper over their Get and add is not
// inlined (Go 1.26 compiles one shaped instantiation for the three pointer
// types, which calls Get and add through its dictionary: inlining cost 180,
// budget 80), so it would add a call and two indirect calls to these peers'
// GetOrLoad, and to no other implementation's.

// syncMap adapts sync.Map. GetOrLoad builds on a miss and keeps the first
// value stored (LoadOrStore), so concurrent misses all build.
type syncMap struct {
	m    sync.Map
	load LoadFunc
}

func newSyncMap(_ int, load LoadFunc) (Cache, error) {
	return &syncMap{load: load}, nil
}

func (c *syncMap) Get(key string) (*Value, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		return nil, false
	}
	return v.(*Value), true
}

func (c *syncMap) GetOrLoad(ctx context.Context, key string) (*Value, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	v, err := c.load(ctx, key)
	if err != nil {
		return nil, err
	}
	actual, _ := c.m.LoadOrStore(key, v)
	return actual.(*Value), nil
}

func (c *syncMap) Close() {}

// lruCache adapts golang-lru/v2's Cache, used check-then-add.
type lruCache struct {
	c    *lru.Cache[string, *Value]
	load LoadFunc
}

func newLRU(size int, load LoadFunc) (Cache, error) {
	if size <= 0 {
		return nil, errNoSize
	}
	c, err := lru.New[string, *Value](size)
	if err != nil {
		return nil, fmt.Errorf("bench: golang-lru: %w", err)
	}
	return &lruCache{c: c, load: load}, nil
}

func (c *lruCache) Get(key string) (*Value, bool) { return c.c.Get(key) }

func (c *lruCache) GetOrLoad(ctx context.Context, key string) (*Value, error) {
	if v, ok := c.c.Get(key); ok {
		return v, nil
	}
	v, err := c.load(ctx, key)
	if err != nil {
		return nil, err
	}
	c.c.Add(key, v)
	return v, nil
}

func (c *lruCache) Close() {}

// otterCache adapts otter v2, bounded and recording stats. GetOrLoad uses
// otter's own loading Get, which calls the loader once per key.
type otterCache struct {
	c      *otter.Cache[string, *Value]
	loader otter.LoaderFunc[string, *Value]
}

func newOtter(size int, load LoadFunc) (Cache, error) {
	if size <= 0 {
		return nil, errNoSize
	}
	return newOtterSized(size, load)
}

// newOtterSized returns an otter cache of at most size entries, or an
// unbounded one if size is 0.
func newOtterSized(size int, load LoadFunc) (Cache, error) {
	c, err := otter.New(&otter.Options[string, *Value]{
		MaximumSize:   size,
		StatsRecorder: stats.NewCounter(),
	})
	if err != nil {
		return nil, fmt.Errorf("bench: otter: %w", err)
	}
	return &otterCache{c: c, loader: otter.LoaderFunc[string, *Value](load)}, nil
}

func (c *otterCache) Get(key string) (*Value, bool) { return c.c.GetIfPresent(key) }

func (c *otterCache) GetOrLoad(ctx context.Context, key string) (*Value, error) {
	return c.c.Get(ctx, key, c.loader)
}

func (c *otterCache) Close() { c.c.StopAllGoroutines() }

// ristrettoCache adapts ristretto v2, used check-then-add with a cost of 1
// per entry. Ristretto applies writes asynchronously and may drop them, so a
// value just added can still miss; the benchmarks count such misses.
type ristrettoCache struct {
	c    *ristretto.Cache[string, *Value]
	load LoadFunc
}

func newRistretto(size int, load LoadFunc) (Cache, error) {
	if size <= 0 {
		return nil, errNoSize
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *Value]{
		NumCounters: 10 * int64(size),
		MaxCost:     int64(size),
		BufferItems: 64,
		// Costs count entries, not bytes.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: ristretto: %w", err)
	}
	return &ristrettoCache{c: c, load: load}, nil
}

func (c *ristrettoCache) Get(key string) (*Value, bool) { return c.c.Get(key) }

func (c *ristrettoCache) GetOrLoad(ctx context.Context, key string) (*Value, error) {
	if v, ok := c.c.Get(key); ok {
		return v, nil
	}
	v, err := c.load(ctx, key)
	if err != nil {
		return nil, err
	}
	c.c.Set(key, v, 1)
	return v, nil
}

// Wait blocks until the writes made so far are visible to Get.
func (c *ristrettoCache) Wait() { c.c.Wait() }

func (c *ristrettoCache) Close() { c.c.Close() }
