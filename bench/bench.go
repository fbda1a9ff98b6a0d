package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Value is what every cache in these benchmarks stores: a small pointer, like
// the clients and connections that keyed singletons usually hold.
type Value struct {
	Key string // the key the value was built for
}

// LoadFunc builds the value for key on a miss.
type LoadFunc func(ctx context.Context, key string) (*Value, error)

// Cache is the adapter every implementation is measured through, so that all
// of them run the identical loop. Implementations are safe for concurrent use.
type Cache interface {
	// Get is the read a caller makes when it expects the value to be cached:
	// a lookup that reports whether the value was there. For keyedcache,
	// whose only read is a Get that loads on a miss, it is that Get; its loads
	// are counted by the LoadFunc.
	Get(key string) (*Value, bool)

	// GetOrLoad returns the value for key, calling the cache's LoadFunc on a
	// miss the way a caller of that library would: keyedcache and otter call
	// their own loader, once per key however many callers wait for it; the
	// others look up, build and add (check-then-add), so concurrent callers
	// that miss all build.
	GetOrLoad(ctx context.Context, key string) (*Value, error)

	// Close releases the cache and stops its goroutines, if it has any.
	Close()
}

// Impl is one implementation under test.
type Impl struct {
	Name    string // short name used in benchmark paths, such as "otter"
	Label   string // name shown in reports, such as "otter v2"
	Bounded bool   // whether the cache keeps at most a given number of entries
	// Seeded says that the cache's hit ratios depend on a hash seed that
	// each new cache draws at random: [CompareTraces] replays each row
	// through TraceSeeds caches of it and keeps the median.
	Seeded bool

	// New returns an empty cache that builds missing values with load. A
	// bounded cache holds at most size entries; an unbounded one ignores size.
	New func(size int, load LoadFunc) (Cache, error)
}

// Impls returns the implementations under test, sync.Map first: it is the
// baseline that reports compare the others with.
func Impls() []Impl {
	return impls()
}

// Bounded returns the implementations of impls that keep at most a given
// number of entries.
func Bounded(impls []Impl) []Impl {
	var out []Impl
	for _, im := range impls {
		if im.Bounded {
			out = append(out, im)
		}
	}
	return out
}

// errWrongValue reports a value built for another key: a broken adapter.
var errWrongValue = errors.New("bench: cache returned the value of another key")

// build is the LoadFunc of the hit-path and mixed benchmarks: it allocates
// the value, as building anything would.
func build(_ context.Context, key string) (*Value, error) {
	return &Value{Key: key}, nil
}

// checkValue returns err, or an error if v was not built for key.
func checkValue(key string, v *Value, err error) error {
	if err != nil {
		return err
	}
	if v == nil || v.Key != key {
		return fmt.Errorf("%w: asked for %q", errWrongValue, key)
	}
	return nil
}

// firstError keeps the first non-nil error set on it. It is safe for
// concurrent use. Setting nil costs a comparison and allocates nothing, so
// that a benchmark loop can set every result and measure only the cache.
type firstError struct {
	p atomic.Pointer[error]
}

func (f *firstError) set(err error) {
	if err != nil {
		f.keep(err)
	}
}

// keep is set's slow path, apart so that only an error moves to the heap:
// in set, taking err's address would allocate on every call, nil or not.
//
//go:noinline
func (f *firstError) keep(err error) {
	f.p.CompareAndSwap(nil, &err)
}

func (f *firstError) get() error {
	if p := f.p.Load(); p != nil {
		return *p
	}
	return nil
}
