package keyedcache

import (
	"errors"
	"time"
)

var errNaNKey = errors.New("keyedcache: Set of a key not equal to itself (such as NaN), which could never be found")

// Set stores value for key as if a load had just returned it: a live value
// for key is replaced (its OnEvict gets [Replaced]), and a load or refresh
// of key in flight goes stale (its waiters receive its result; the stored
// value is Set's). Options.ExpireAfter, if set, is called for value, and
// the bound may evict another value, or (with TinyLFU) value itself.
//
// After Close, Set returns [ErrClosed] and stores nothing: the caller keeps
// value. A key not equal to itself (a NaN) cannot be stored, and Set
// returns an error saying so. If ExpireAfter panics, Set returns the panic
// as a [*PanicError] and stores nothing; the cache stays as it was.
func (c *KeyedCache[K, V]) Set(key K, value V) error {
	h := c.hash(key)
	if key != key {
		return errNaNKey
	}
	var life time.Duration
	hasLife := false
	if c.expireAfter != nil {
		if c.isClosed() {
			return ErrClosed
		}
		var err error
		if life, err = c.lifetime(key, value); err != nil {
			return err // a *PanicError: nothing is stored
		}
		hasLife = true
	}
	// Made before mu is taken, which other misses wait for.
	e := c.newEntry(key, h)
	e.val = value
	e.st.Store(stLoading) // not live before storeLocked has placed it
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.replacing.Add(1) // odd until the new value is in: see Peek
	now := c.now()
	out := c.sweepLocked(now, nil)
	if r := c.refreshing[key]; r != nil {
		c.staleLocked(r, r.loadLocked(), Replaced)
	}
	if old := c.tab.lookup(h, key); old != nil {
		if old.st.Load()&stLoading != 0 {
			c.staleLocked(old, old.loadLocked(), Replaced)
		} else {
			out = c.removeLocked(old, Replaced, out)
			c.drainLocked() // see Delete
		}
	}
	c.tab.insertLocked(e)
	out = c.storeLocked(e, &c.noLoad, life, hasLife, out) // no load, no lease
	// Under mu, so that replacements never overlap.
	c.replacing.Add(1)
	c.mu.Unlock()
	c.notify(out)
	return nil
}

func (c *KeyedCache[K, V]) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
