package keyedcache

import (
	"context"
	"sync/atomic"
)

// A lease keeps a value valid while it is in use. The low 32 bits of an
// entry's state word count its leases; removeLocked sets stRemoved with
// the same atomic operation that reads the count, and a release drops the
// count with the operation that reads stRemoved, so exactly one of them
// sees the value both removed and free, and hands it to OnEvict.

// Acquire is Get plus a lease: it returns the value for key, loading it if
// needed exactly as Get does, and a release function. Until release is
// called, the value stays valid for its holder even if it leaves the cache
// (evicted, expired, deleted, replaced, cleared or closed): its OnEvict is
// then deferred, and runs in the goroutine that releases the last lease.
//
// release is never nil and is idempotent; after an error it does nothing.
// A value that was never stored (its load went stale, or its key is not
// equal to itself) needs no release: its OnEvict never runs, and release
// does nothing. Close does not wait for leases.
//
// Use Get for values that stay valid after their OnEvict, or that have
// none; use Acquire, and defer release, for values that OnEvict disposes of
// (a pool that it closes) and that a caller uses for a while. A hit costs
// one atomic operation more than Get's, and allocates the release function.
func (c *KeyedCache[K, V]) Acquire(ctx context.Context, key K) (value V, release func(), err error) {
	h := c.hash(key)
	e := c.tab.lookup(h, key)
	if e != nil {
		for s := e.st.Load(); live(s) && c.fresh(e); s = e.st.Load() {
			if e.st.CompareAndSwap(s, s+1) {
				c.hit(e)
				if c.refreshAfter > 0 {
					c.maybeRefresh(ctx, e)
				}
				return e.val, c.releaser(e), nil
			}
		}
	}
	v, e, err := c.getSlow(ctx, key, h, true, e == nil)
	if e == nil {
		return v, noRelease, err
	}
	return v, c.releaser(e), err
}

func noRelease() {}

// releaser returns the release function of one lease on e.
func (c *KeyedCache[K, V]) releaser(e *entry[K, V]) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			c.release(e)
		}
	}
}

// release gives back one lease on e; the last release of a removed value
// calls its OnEvict.
func (c *KeyedCache[K, V]) release(e *entry[K, V]) {
	s := e.st.Add(^uint64(0))
	if s&stRemoved == 0 || s&leaseMask != 0 {
		return
	}
	c.mu.Lock()
	c.awaiting--
	c.mu.Unlock()
	if c.onEvict != nil {
		c.onEvict(e.key, e.val, Reason(e.why))
	}
}
