package keyedcache

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

// A load is one Loader call in flight, shared by every Get that waits for
// its key. It is also the Loader's context: it keeps the values of the Get
// that started it, and is cancelled once every Get waiting on it has left,
// or by Delete, Clear or Close (see cancel).
//
// The result is the entry's val and the load's err, written once before
// wait is closed (or, for a load run in its starter's goroutine without
// waiters, before run returns) and read only after.
type load[K comparable, V any] struct {
	parent context.Context // the starter's; for Value

	cmu      sync.Mutex // guards cdone and canceled
	canceled bool

	// guarded by the cache's mu
	stale  bool  // not to be stored: Delete, Clear, Close or Set came first, or the key cannot be stored
	leased bool  // the value was stored with leases
	inline bool  // runs in the starter's goroutine, which notifies the removals itself
	leases int32 // Acquires among the Gets waiting: leases to take when the value is stored

	cdone chan struct{} // guarded by cmu
	err   error

	// guarded by the cache's mu
	wait chan struct{}    // closed when the result is ready; nil if no Get waits
	out  *[]removal[K, V] // removals made by storing the value, for the first waiter to wake to notify
	of   *entry[K, V]     // for a refresh: the entry it refreshes; nil for a load
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Deadline returns no deadline: a load outlives the Get that started it.
func (l *load[K, V]) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done returns a channel closed when the load is cancelled.
func (l *load[K, V]) Done() <-chan struct{} {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.canceled {
		return closedChan
	}
	if l.cdone == nil {
		l.cdone = make(chan struct{})
	}
	return l.cdone
}

// Err returns context.Canceled once the load is cancelled, else nil.
func (l *load[K, V]) Err() error {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.canceled {
		return context.Canceled
	}
	return nil
}

// Value returns the value the starter's context holds for key.
func (l *load[K, V]) Value(key any) any { return l.parent.Value(key) }

// cancel cancels the load's context; it is idempotent.
func (l *load[K, V]) cancel() {
	l.cmu.Lock()
	if !l.canceled {
		l.canceled = true
		if l.cdone != nil {
			close(l.cdone)
		}
	}
	l.cmu.Unlock()
}

// run calls the Loader for e and hands its outcome to finish, whether the
// Loader returns, panics or calls runtime.Goexit. The two defers tell these
// apart, as golang.org/x/sync/singleflight does. For a load run inline, it
// returns the removals its store made, for the starter to notify.
func (c *KeyedCache[K, V]) run(e *entry[K, V], l *load[K, V]) (own []removal[K, V]) {
	var (
		val      V
		err      error
		returned bool
		panicked bool
	)
	start := c.clock() // monotonic only: half the cost of time.Now
	defer func() {
		if !returned && !panicked {
			err = ErrLoaderExited
		}
		own = c.finish(e, l, val, err, time.Duration(c.clock()-start))
	}()
	func() {
		defer func() {
			if !returned {
				// recover returns nil during Goexit; since Go 1.21 a
				// panic(nil) arrives as *runtime.PanicNilError.
				if r := recover(); r != nil {
					err = &PanicError{Value: r, Stack: debug.Stack()}
				}
			}
		}()
		val, err = c.load(l, e.key)
		returned = true
	}()
	if !returned {
		panicked = true
	}
	return nil // set by the deferred finish
}

// finish records a load's outcome and stores its value unless the load went
// stale, then releases its waiters. The callbacks for what the store
// removed run in a Get that receives the value: the one that ran the load
// in its own goroutine, or else the first waiter to take them. Only when no
// Get waits (a refresh nobody joined) does the load's goroutine run them.
// Either way the load is over for Close first, so that an OnEvict may call
// Close.
//
// For a load run inline, it returns the removals for its starter to notify.
func (c *KeyedCache[K, V]) finish(e *entry[K, V], l *load[K, V], val V, err error, took time.Duration) []removal[K, V] {
	var life time.Duration
	hasLife := false
	if err == nil && c.expireAfter != nil && !c.isStale(l) {
		// Outside the lock, as documented; the load may go stale meanwhile.
		exited := true
		defer func() {
			if exited {
				// ExpireAfter called runtime.Goexit: fail the load, so that
				// nothing waits for it, and let the goroutine end.
				var zero V
				_ = c.complete(e, l, zero, ErrLoaderExited, took, 0, false) // nothing to notify: not stored
			}
		}()
		life, err = c.lifetime(e.key, val)
		exited = false
		hasLife = err == nil
	}
	return c.complete(e, l, val, err, took, life, hasLife)
}

// complete is the rest of finish, once the value's lifetime is known.
func (c *KeyedCache[K, V]) complete(e *entry[K, V], l *load[K, V], val V, err error, took, life time.Duration, hasLife bool) []removal[K, V] {
	c.mu.Lock()
	c.stats.loadTime += took
	if err != nil {
		c.stats.loadErrors++
	} else {
		c.stats.loads++
		e.val = val
	}
	l.err = err
	c.loading.Remove(&e.tn)
	e.ld = nil
	if l.of != nil && c.refreshing[e.key] == e {
		delete(c.refreshing, e.key)
	}
	var out []removal[K, V]
	switch {
	case l.stale || (c.expireAfter != nil && !hasLife && err == nil):
		e.st.Store(stRemoved)
	case err != nil:
		if l.of == nil {
			c.tab.deleteLocked(e)
		} else if live(l.of.st.Load()) {
			// Keep the old value; try again after another RefreshAfter.
			l.of.tm().refresh.Store(after(c.clock(), c.refreshAfter))
		}
		e.st.Store(stRemoved)
	default:
		out = c.storeLocked(e, l, life, hasLife, out)
	}
	var own []removal[K, V]
	if l.inline {
		own, out = out, nil // the Get that ran the load notifies them
	} else if e.waiters > 0 && len(out) > 0 {
		waiting := out
		l.out, out = &waiting, nil // the first waiter to wake notifies them
	}
	if l.wait != nil {
		close(l.wait)
	}
	c.mu.Unlock()
	l.cancel()
	if len(out) == 0 {
		c.running.Done()
		return own
	}
	// A refresh nobody joined: this goroutine of the cache runs the
	// callbacks. It stays registered, so that Close waits for them, unless
	// one of them is the Close.
	id := goid()
	c.mu.Lock()
	c.notifiers[id]++
	c.mu.Unlock()
	c.running.Done()
	defer func() {
		c.mu.Lock()
		if c.notifiers[id]--; c.notifiers[id] == 0 {
			delete(c.notifiers, id)
		}
		c.idle.Broadcast()
		c.mu.Unlock()
	}()
	c.notify(out)
	return nil
}

// lifetime calls ExpireAfter, turning a panic into the load's error: the
// Gets waiting for the load must not hang, and the value is not stored.
func (c *KeyedCache[K, V]) lifetime(key K, val V) (life time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return c.expireAfter(key, val), nil
}

// isStale reports whether l has gone stale, taking mu.
func (c *KeyedCache[K, V]) isStale(l *load[K, V]) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return l.stale
}

// wait returns the outcome of e's load, or ctx.Err() as soon as ctx ends.
// The last waiter to leave a load (not a refresh) cancels it and makes it
// stale, so that the next Get starts afresh rather than joining a cancelled
// load. A waiter that receives the result also notifies the removals its
// store made, if the load left them to a waiter.
func (c *KeyedCache[K, V]) wait(ctx context.Context, e *entry[K, V], l *load[K, V], acquire bool) (V, error) {
	var zero V
	select {
	case <-l.wait:
		return c.received(e, l)
	case <-ctx.Done():
	}
	c.mu.Lock()
	select {
	case <-l.wait:
		c.mu.Unlock()
		return c.received(e, l)
	default:
	}
	e.waiters--
	if acquire {
		l.leases--
	}
	if e.waiters == 0 && l.of == nil {
		l.cancel()
		c.staleLocked(e, l)
	}
	c.mu.Unlock()
	return zero, ctx.Err()
}

// received returns the result of e's finished load, after notifying the
// removals that its store left to a waiter, if this is the first waiter to
// take them.
func (c *KeyedCache[K, V]) received(e *entry[K, V], l *load[K, V]) (V, error) {
	c.mu.Lock()
	out := l.out
	l.out = nil
	c.mu.Unlock()
	if out != nil {
		c.notify(*out)
	}
	if l.err != nil {
		var zero V
		return zero, l.err
	}
	return e.val, nil
}

// staleLocked makes e's load stale and takes its placeholder out of the
// table, if it is there: the next Get of the key starts afresh. The load
// stays on the loading list, so that Close can cancel and wait for it.
func (c *KeyedCache[K, V]) staleLocked(e *entry[K, V], l *load[K, V]) {
	if l.stale {
		return
	}
	l.stale = true
	if l.of != nil {
		if c.refreshing[e.key] == e {
			delete(c.refreshing, e.key)
		}
		return
	}
	c.tab.deleteLocked(e)
}
