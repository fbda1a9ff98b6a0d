package bench

import (
	"context"
	"fmt"
	"math"

	arc "github.com/hashicorp/golang-lru/arc/v2"
	lru "github.com/hashicorp/golang-lru/v2"
)

// TracePolicies returns the bounded caches whose hit ratios [ReplayTrace]
// compares: keyedcache under each of its policies, golang-lru/v2's LRU and
// 2Q, its ARC (github.com/hashicorp/golang-lru/arc/v2), and otter v2. All
// are used through [Cache.GetOrLoad], single-threaded, so every miss loads.
func TracePolicies() []Impl {
	return []Impl{
		{Name: "keyedcache-lru", Label: "keyedcache LRU", Bounded: true, New: newBoundedKeyedCache},
		{Name: "keyedcache-tinylfu", Label: "keyedcache TinyLFU", Bounded: true, Seeded: true, New: newTinyLFUKeyedCache},
		{Name: "lru", Label: "golang-lru LRU", Bounded: true, New: newLRU},
		{Name: "2q", Label: "golang-lru 2Q", Bounded: true, New: new2Q},
		{Name: "arc", Label: "golang-lru ARC", Bounded: true, New: newARC},
		{Name: "otter", Label: "otter v2", Bounded: true, New: newOtter},
	}
}

// addCache is a golang-lru cache used check-then-add.
type addCache interface {
	Get(key string) (*Value, bool)
	Add(key string, value *Value)
}

// checkThenAdd adapts 2Q and ARC, which the trace comparison alone uses:
// it calls them through an interface, which the hit-path peers avoid.
type checkThenAdd struct {
	c    addCache
	load LoadFunc
}

func new2Q(size int, load LoadFunc) (Cache, error) {
	if size <= 0 {
		return nil, errNoSize
	}
	c, err := lru.New2Q[string, *Value](size)
	if err != nil {
		return nil, fmt.Errorf("bench: golang-lru 2Q: %w", err)
	}
	return checkThenAdd{c, load}, nil
}

func newARC(size int, load LoadFunc) (Cache, error) {
	if size <= 0 {
		return nil, errNoSize
	}
	c, err := arc.NewARC[string, *Value](size)
	if err != nil {
		return nil, fmt.Errorf("bench: golang-lru ARC: %w", err)
	}
	return checkThenAdd{c, load}, nil
}

func (c checkThenAdd) Get(key string) (*Value, bool) { return c.c.Get(key) }

func (c checkThenAdd) GetOrLoad(ctx context.Context, key string) (*Value, error) {
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

func (c checkThenAdd) Close() {}

// unbounded returns impl as a cache that never evicts: keyedcache
// unbounded, otter without a maximum size, and golang-lru, which needs a
// bound, with one no benchmark reaches. Other implementations are returned
// as they are.
func unbounded(impl Impl) Impl {
	switch impl.Name {
	case "lru":
		impl.New = func(_ int, load LoadFunc) (Cache, error) { return newLRU(math.MaxInt32, load) }
	case "otter":
		impl.New = func(_ int, load LoadFunc) (Cache, error) { return newOtterSized(0, load) }
	case "keyedcache-bounded":
		impl.Name, impl.Label, impl.New = "keyedcache", "keyedcache", newKeyedCache
	}
	impl.Bounded = false
	return impl
}
