package keyedcache

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A load is one Loader call in flight, shared by every Get that waits for
// its key. It is also the Loader's context: it keeps the values of the Get
// that started it, and is cancelled once every Get waiting on it has left,
// or by Delete, Clear or Close (see cancel).
//
// A Get whose context is context.Background or context.TODO, that starts a
// load of a key equal to itself, makes no load: it runs the Loader in its
// own goroutine, with a loadCtx (16 bytes, from a slab) as the context,
// and the entry's ld stays nil until something needs the load's fields
// (loadLocked: a second Get joins, Delete, Set, Clear or Close makes it
// stale, or the Loader asks for Done or AfterFunc).
//
// The result is the entry's val and the load's err, written once before
// wait is closed (or, for a load run in its starter's goroutine without
// waiters, before run returns) and read only after.
type load[K comparable, V any] struct {
	parent context.Context // the starter's; for Value

	cmu      sync.Mutex // guards cdone, canceled and afters
	canceled bool

	// guarded by the cache's mu
	stale  bool     // not to be stored: Delete, Clear, Close or Set came first, or the key cannot be stored
	leased bool     // the value was stored with leases
	mode   loadMode // how the Loader runs
	leases int32    // Acquires among the Gets waiting: leases to take when the value is stored

	cdone  chan struct{} // guarded by cmu
	afters *afterFunc    // guarded by cmu: to run once cancelled (AfterFunc)
	err    error

	// guarded by the cache's mu
	wait chan struct{}    // closed when the result is ready; nil if no Get waits
	out  *[]removal[K, V] // removals made by storing the value, for the first waiter to wake to notify
	of   *entry[K, V]     // for a refresh: the entry it refreshes, until that leaves (unrefreshLocked); nil for a load
}

// A loadMode says how a load's Loader runs.
type loadMode uint8

const (
	modeAsync   loadMode = iota // for Gets, in a goroutine of its own: a Get whose context can end may leave
	modeInline                  // in the goroutine of the Get that started it, which notifies the removals itself
	modeRefresh                 // for a refresh (maybeRefresh), in a goroutine of its own
)

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Deadline returns no deadline: a load outlives the Get that started it.
func (l *load[K, V]) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done returns a channel closed when the load is cancelled, the same one
// every time.
func (l *load[K, V]) Done() <-chan struct{} {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.cdone == nil {
		if l.canceled {
			l.cdone = closedChan
		} else {
			l.cdone = make(chan struct{})
		}
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

// An afterFunc is a function registered by AfterFunc, in a doubly linked
// list, so that its stop unlinks it at once.
type afterFunc struct {
	f          func()
	prev, next *afterFunc
}

// AfterFunc arranges to call f in its own goroutine once the load is
// cancelled, as [context.AfterFunc] does, and returns a function that
// stops that call and reports whether it did. With it, a context made from
// the load (context.WithTimeout, as a Loader that calls a server makes)
// follows its cancellation without a goroutine of its own.
func (l *load[K, V]) AfterFunc(f func()) (stop func() bool) {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.canceled {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f, next: l.afters}
	if a.next != nil {
		a.next.prev = a
	}
	l.afters = a
	return func() bool {
		l.cmu.Lock()
		defer l.cmu.Unlock()
		if a.f == nil {
			return false // run, or stopped before
		}
		a.f = nil
		if a.prev != nil {
			a.prev.next = a.next
		} else {
			l.afters = a.next
		}
		if a.next != nil {
			a.next.prev = a.prev
		}
		return true
	}
}

// cancel cancels the load's context; it is idempotent.
func (l *load[K, V]) cancel() {
	l.cmu.Lock()
	if !l.canceled {
		l.canceled = true
		if l.cdone != nil {
			close(l.cdone)
		}
		for a := l.afters; a != nil; a = a.next {
			go a.f()
			a.f = nil
		}
		l.afters = nil
	}
	l.cmu.Unlock()
}

// run calls the Loader for e and hands its outcome to finish, whether the
// Loader returns, panics or calls runtime.Goexit. The two defers tell these
// apart, as golang.org/x/sync/singleflight does. For a load run inline, it
// returns the removals its store made, for the starter to notify, and the
// outcome its waiters receive. l is nil for a load that has none yet (see
// load): x, from takeCtxLocked, is then the Loader's context.
func (c *KeyedCache[K, V]) run(e *entry[K, V], l *load[K, V], x *loadCtx[K, V]) (own []removal[K, V], outcome error) {
	var (
		val      V
		err      error
		returned bool
		panicked bool
		ctx      context.Context = l
	)
	if l == nil {
		ctx = x // complete clears it
	}
	start := c.clock() // monotonic only: half the cost of time.Now
	defer func() {
		if !returned && !panicked {
			err = ErrLoaderExited
		}
		own, outcome = c.finish(e, l, x, val, err, time.Duration(c.clock()-start))
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
		val, err = c.load(ctx, e.key)
		returned = true
	}()
	if !returned {
		panicked = true
	}
	return nil, nil // set by the deferred finish
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
// It returns the outcome the Gets of the load receive.
func (c *KeyedCache[K, V]) finish(e *entry[K, V], l *load[K, V], x *loadCtx[K, V], val V, err error, took time.Duration) ([]removal[K, V], error) {
	var life time.Duration
	hasLife := false
	if err == nil && c.expireAfter != nil && !c.isStale(e) {
		// Outside the lock, as documented; the load may go stale meanwhile.
		exited := true
		defer func() {
			if exited {
				// ExpireAfter called runtime.Goexit: fail the load, so that
				// nothing waits for it, and let the goroutine end.
				var zero V
				_, _ = c.complete(e, l, x, zero, ErrLoaderExited, took, 0, false) // nothing to notify: not stored
			}
		}()
		life, err = c.lifetime(e.key, val)
		exited = false
		hasLife = err == nil
	}
	return c.complete(e, l, x, val, err, took, life, hasLife)
}

// complete is the rest of finish, once the value's lifetime is known. x is
// the Loader's context if the load began without a load struct, else nil.
func (c *KeyedCache[K, V]) complete(e *entry[K, V], l *load[K, V], x *loadCtx[K, V], val V, err error, took, life time.Duration, hasLife bool) ([]removal[K, V], error) {
	c.mu.Lock()
	if made := e.ld.Load(); made != nil {
		l = made // made by loadLocked since the load began
	} else if l == nil {
		l = &c.noLoad // never written
	}
	c.stats.loadTime += took
	if err != nil {
		c.stats.loadErrors++
	} else {
		c.stats.loads++
		e.val = val
	}
	if l != &c.noLoad {
		l.err = err
	}
	if l.stale || l.mode == modeRefresh {
		c.loading.Remove(&e.tn) // listed: see staleLocked and maybeRefresh
	}
	if l.mode == modeRefresh && c.refreshing[e.key] == e {
		delete(c.refreshing, e.key)
	}
	var out []removal[K, V]
	switch {
	case l.stale || (c.expireAfter != nil && !hasLife && err == nil):
		// (A value without a lifetime is one whose load was stale at
		// finish.)
		e.st.Store(stRemoved)
		if err == nil && l.mode == modeRefresh && e.waiters == 0 && c.onEvict != nil {
			// A refresh that Delete, Clear, Close or Set made stale,
			// whose value no Get receives (none joined it, or those
			// that did gave up): the value leaves as a stored one
			// would, with the reason of the call that made it stale.
			out = append(out, removal[K, V]{e, Reason(e.why)})
		}
	case err != nil:
		if l.mode != modeRefresh {
			c.tab.deleteLocked(e)
		} else if l.of != nil && live(l.of.st.Load()) {
			// Keep the old value; try again after another RefreshAfter.
			l.of.tm().refresh.Store(after(c.clock(), c.refreshAfter))
		}
		e.st.Store(stRemoved)
	case l.mode == modeRefresh:
		c.replacing.Add(1) // see Peek
		out = c.storeLocked(e, l, life, hasLife, out)
		c.replacing.Add(1)
	default:
		out = c.storeLocked(e, l, life, hasLife, out)
	}
	var own []removal[K, V]
	if l.mode == modeInline {
		own, out = out, nil // the Get that ran the load notifies them
	} else if e.waiters > 0 && len(out) > 0 {
		waiting := out
		l.out, out = &waiting, nil // the first waiter to wake notifies them
	}
	// Cancelled before the waiters wake: a Get that received the result
	// finds the Loader's context ended.
	if l != &c.noLoad {
		l.cancel()
		l.of = nil // a kept context must not keep the refreshed value
	}
	// After the state word has left stLoading, which loadCtx.made reads
	// after storing a load: one of the two cancels a load made late. A
	// load leaves ld only once cancelled (here, or in made), so that a
	// loadCtx that finds the state word past stLoading and ld empty knows
	// its Done is closed. Finding ld empty needs no CAS: made stores its
	// load and then reads the state word, so a load it stores after this
	// read finds stLoading gone, and made cancels and drops it itself.
	for late := e.ld.Load(); late != nil; late = e.ld.Load() {
		late.cancel()
		if e.ld.CompareAndSwap(late, nil) {
			break
		}
	}
	if x != nil {
		// Before mu is released, and so before a removal of the value can
		// be notified: a context the Loader (or its value) kept must not
		// keep the entry, and with it the value, once the value has left.
		x.e.Store(nil)
	}
	if l.wait != nil {
		close(l.wait)
	}
	if len(out) == 0 {
		c.ranLocked()
		c.mu.Unlock()
		return own, err
	}
	c.mu.Unlock()
	// A refresh nobody joined: this goroutine of the cache runs the
	// callbacks. It stays registered, so that Close waits for them, unless
	// one of them is the Close.
	id := goid()
	c.mu.Lock()
	c.notifiers[id]++
	c.ranLocked()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.notifiers[id]--; c.notifiers[id] == 0 {
			delete(c.notifiers, id)
		}
		c.idle.Broadcast()
		c.mu.Unlock()
	}()
	c.notify(out)
	return nil, err
}

// ranLocked counts a load or refresh that started (start, maybeRefresh) as
// over, for Close, which waits for none to be running.
func (c *KeyedCache[K, V]) ranLocked() {
	if c.running--; c.running == 0 && c.closed {
		c.idle.Broadcast()
	}
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

// isStale reports whether e's load has gone stale, taking mu.
func (c *KeyedCache[K, V]) isStale(e *entry[K, V]) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := e.ld.Load()
	return l != nil && l.stale
}

// loadLocked returns the load of e, whose load is in flight, making it if
// e runs the Loader without one (see load).
func (e *entry[K, V]) loadLocked() *load[K, V] {
	l, _ := e.loadOrMake() // under mu, no one takes a load out of ld
	return l
}

// loadOrMake returns the load in e's ld, or stores there a new load of a
// Loader run inline with context.Background and returns it, reporting
// whether it made it. If another goroutine stores one first, it returns
// that one, or nil if complete has taken it away since.
func (e *entry[K, V]) loadOrMake() (l *load[K, V], made bool) {
	if l := e.ld.Load(); l != nil {
		return l, false
	}
	l = &load[K, V]{parent: context.Background(), mode: modeInline}
	if e.ld.CompareAndSwap(nil, l) {
		return l, true
	}
	return e.ld.Load(), false // made by loadLocked or by the Loader's Done or AfterFunc
}

// A loadCtx is the Loader's context for a load that has no load struct.
// It points to the entry until the load is over, and then to nothing, so
// that a context kept by the Loader or its value keeps neither. Its values
// are context.Background's; it is cancelled when the load is over, or
// earlier through the load that loadLocked makes if Close or the last
// waiter cancels it.
type loadCtx[K comparable, V any] struct {
	e atomic.Pointer[entry[K, V]] // nil once the load is over
	l atomic.Pointer[load[K, V]]  // the load whose Done this returned, if any
}

// ctxSlab is how many loadCtx one allocation makes (16 bytes each): a miss
// then allocates its entry, and a 256th of a slab. A slab is never reused:
// a context kept after its load keeps its slab, 4 KiB, which points to no
// entry once the loads it served are over.
const ctxSlab = 256

// takeCtxLocked returns a new loadCtx for a load of e that has no load
// struct, taken from the cache's slab.
func (c *KeyedCache[K, V]) takeCtxLocked(e *entry[K, V]) *loadCtx[K, V] {
	if len(c.ctxs) == 0 {
		c.ctxs = make([]loadCtx[K, V], ctxSlab)
	}
	x := &c.ctxs[0]
	c.ctxs = c.ctxs[1:]
	x.e.Store(e)
	return x
}

// Deadline returns no deadline.
func (x *loadCtx[K, V]) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value returns nil: the load was started with context.Background or
// context.TODO, which hold no values.
func (x *loadCtx[K, V]) Value(any) any { return nil }

// Err returns context.Canceled once the load is over or cancelled, and
// never before Done's channel is closed: a load stays in ld until it is
// cancelled, and Err cancels the one it finds there once the load is over.
func (x *loadCtx[K, V]) Err() error {
	e := x.e.Load()
	if e == nil || x.over(e) {
		return context.Canceled
	}
	if l := e.ld.Load(); l != nil {
		if err := l.Err(); err != nil {
			return err
		}
	}
	if x.over(e) {
		return context.Canceled
	}
	return nil
}

// over reports whether e's load is over, and then makes sure that the load
// in ld, if any, is cancelled.
func (x *loadCtx[K, V]) over(e *entry[K, V]) bool {
	if e.st.Load()&stLoading != 0 {
		return false
	}
	if l := e.ld.Load(); l != nil {
		l.cancel()
	}
	return true
}

// Done returns a channel closed once the load is over or cancelled, the
// same one every time.
func (x *loadCtx[K, V]) Done() <-chan struct{} {
	if l := x.l.Load(); l != nil {
		return l.Done()
	}
	l := x.made()
	if l == nil {
		return closedChan // over: made returns nil from now on
	}
	if !x.l.CompareAndSwap(nil, l) {
		l = x.l.Load() // the same load: there is one per load at most
	}
	return l.Done()
}

// AfterFunc is load's AfterFunc, for the same reason.
func (x *loadCtx[K, V]) AfterFunc(f func()) (stop func() bool) {
	if l := x.made(); l != nil {
		return l.AfterFunc(f)
	}
	go f()
	return func() bool { return false }
}

// made returns the load of x, making it if there is none, or nil once the
// load is over. complete cancels the load it makes, unless the load was
// over before it was stored, which made checks after storing it.
func (x *loadCtx[K, V]) made() *load[K, V] {
	e := x.e.Load()
	if e == nil {
		return nil
	}
	for {
		if e.st.Load()&stLoading == 0 {
			return nil
		}
		l, made := e.loadOrMake()
		if l == nil {
			continue // taken away: the load is over
		}
		if made && e.st.Load()&stLoading == 0 {
			// complete may have missed it: cancel it here.
			l.cancel()
			e.ld.CompareAndSwap(l, nil)
		}
		return l
	}
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
		return c.received(e, l, acquire)
	case <-ctx.Done():
	}
	c.mu.Lock()
	select {
	case <-l.wait:
		c.mu.Unlock()
		return c.received(e, l, acquire)
	default:
	}
	e.waiters--
	if acquire {
		l.leases--
	}
	if e.waiters == 0 && l.mode != modeRefresh {
		l.cancel()
		c.staleLocked(e, l, 0) // not a refresh: no reason needed
	}
	c.mu.Unlock()
	return zero, ctx.Err()
}

// received returns the result of e's finished load, after notifying the
// removals that its store left to a waiter, if this is the first waiter to
// take them.
func (c *KeyedCache[K, V]) received(e *entry[K, V], l *load[K, V], acquire bool) (V, error) {
	c.mu.Lock()
	out := l.out
	l.out = nil
	c.mu.Unlock()
	if out != nil {
		c.notifyLeased(*out, c.leasedTo(e, l, acquire, l.err))
	}
	if l.err != nil {
		var zero V
		return zero, l.err
	}
	return e.val, nil
}

// staleLocked makes e's load stale and takes its placeholder out of the
// table, if it is there: the next Get of the key starts afresh. The load
// goes on the loading list, where refreshes already are, so that Close can
// cancel and wait for it. why is the reason its value leaves with if no
// Get receives it (complete).
func (c *KeyedCache[K, V]) staleLocked(e *entry[K, V], l *load[K, V], why Reason) {
	if l.stale {
		return
	}
	l.stale = true
	// e, which will now never be stored, has no other use for why: complete
	// hands it to OnEvict with the value of a refresh that no Get receives.
	e.why = uint8(why)
	if l.mode == modeRefresh {
		l.of = nil // not to be replaced: the cache must not keep it
		if c.refreshing[e.key] == e {
			delete(c.refreshing, e.key)
		}
		return
	}
	c.tab.deleteLocked(e)
	c.loading.PushBack(&e.tn)
}

// unrefreshLocked lets a refresh in flight of e's key let go of e, which is
// leaving the cache: the refresh would have replaced it, and the cache must
// not keep a value that has left.
func (c *KeyedCache[K, V]) unrefreshLocked(e *entry[K, V]) {
	if r := c.refreshing[e.key]; r != nil {
		if l := r.ld.Load(); l != nil && l.of == e {
			l.of = nil
		}
	}
}
