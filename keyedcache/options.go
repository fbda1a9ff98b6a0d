package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A Loader creates the value for key. The cache calls it once per missing key,
// however many Gets are waiting for that key: in the goroutine of the Get that
// started the load if that Get's context cannot end, else in a goroutine of
// its own.
//
// ctx carries the values of the Get that started the load. It is not cancelled
// when that Get leaves; it is cancelled once every Get waiting for the load has
// left, and when the cache is closed. A Loader should return promptly then.
// It is also cancelled when the load is over, so the value must not keep it.
//
// A Loader must not Get its own key from the same cache (it would wait for
// itself) nor Close the cache (Close waits for Loaders to return).
type Loader[K comparable, V any] func(ctx context.Context, key K) (V, error)

// Options configure a [KeyedCache]. The zero value, like a nil *Options, gives
// an unbounded cache whose values never expire.
type Options[K comparable, V any] struct {
	// MaxEntries bounds the number of values kept. When a new value would
	// exceed it, Policy chooses a value to evict. 0 means unbounded.
	MaxEntries int

	// Policy chooses which value MaxEntries evicts: LRU (the zero value) or
	// TinyLFU. TinyLFU without MaxEntries is an error from New, and so is
	// TinyLFU with MaxEntries above 2^30 (2^20 on 32-bit platforms): New
	// allocates TinyLFU's frequency sketch and the rest of its state at
	// once, about 11 bytes per unit of MaxEntries.
	Policy Policy

	// TTL, when positive, makes each value expire TTL after it was created
	// (expire-after-create; reads do not extend it). 0 means never, and so
	// does a TTL too large to add to the clock.
	TTL time.Duration

	// ExpireAfter, if not nil, gives each value about to be stored its own
	// lifetime, counted from its creation, and replaces TTL. It is called
	// once per value (loaded, refreshed or Set), outside the cache's locks.
	// A result <= 0 means the value is expired at once: the Gets waiting on
	// its load still receive it, and the next Get loads again. Like a
	// Loader, it must not Get its own key or Close the cache; it may call
	// anything else. If it panics or calls runtime.Goexit, the load fails.
	ExpireAfter func(key K, value V) time.Duration

	// RefreshAfter, when positive, makes a Get or Acquire that finds a live
	// value at least this old return it at once and start one background
	// reload of the key, unless one is running. 0 means never.
	RefreshAfter time.Duration

	// OnEvict, if not nil, is called exactly once for every value the cache
	// stored and then removed, with the reason. It runs outside the cache's
	// locks and may call any method of the cache, Close included, but for
	// Close when it runs in a Loader's goroutine (see Close). It runs
	// in the goroutine of the call that removed the value, before that call
	// returns, except as the package documentation details (a leased value:
	// at its last release; a removal made when a load completes: in a Get
	// that receives the load's value; a refresh nobody joined: in the
	// refresh's goroutine). It should not panic: the panic reaches that
	// goroutine's caller, or, in a refresh's goroutine, ends the program,
	// once the OnEvict calls for the other values the call removed have
	// run (an Acquire that it keeps from returning releases its lease).
	OnEvict func(key K, value V, reason Reason)
}

func (o *Options[K, V]) validate() error {
	switch {
	case o.MaxEntries < 0:
		return fmt.Errorf("keyedcache: Options.MaxEntries is %d; want 0 (unbounded) or more", o.MaxEntries)
	case o.TTL < 0:
		return fmt.Errorf("keyedcache: Options.TTL is %v; want 0 (never expire) or more", o.TTL)
	case o.RefreshAfter < 0:
		return fmt.Errorf("keyedcache: Options.RefreshAfter is %v; want 0 (never refresh) or more", o.RefreshAfter)
	case o.Policy != LRU && o.Policy != TinyLFU:
		return fmt.Errorf("keyedcache: Options.Policy is %v; want LRU or TinyLFU", o.Policy)
	case o.Policy == TinyLFU && o.MaxEntries == 0:
		return errors.New("keyedcache: Options.Policy is TinyLFU but MaxEntries is 0; TinyLFU needs a bound")
	case o.Policy == TinyLFU && o.MaxEntries > maxTinyLFUEntries:
		return fmt.Errorf("keyedcache: Options.MaxEntries is %d; TinyLFU takes at most %d (New allocates about 11 bytes per unit of it)", o.MaxEntries, maxTinyLFUEntries)
	}
	return nil
}

// maxTinyLFUEntries is the largest MaxEntries that TinyLFU accepts: 2^30 on
// 64-bit platforms (its structures then take about 12 GB), 2^20 on 32-bit
// ones.
const maxTinyLFUEntries = 1 << (20 + 10*(^uint(0)>>63))

var errNilLoader = errors.New("keyedcache: New called with a nil Loader")
