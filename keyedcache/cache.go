package keyedcache

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// A KeyedCache holds one value per key, created by its [Loader] on first use
// and shared by every later caller, including callers that arrive while the
// value is being created. See the package documentation for the full
// contract.
//
// A KeyedCache is safe for concurrent use by multiple goroutines. It must be
// created with [New]; the zero value is not usable.
type KeyedCache[K comparable, V any] struct {
	load         Loader[K, V]
	onEvict      func(K, V, Reason)
	expireAfter  func(K, V) time.Duration
	ttl          time.Duration
	refreshAfter time.Duration
	born         time.Time // origin of clock()
	timed        bool      // TTL, ExpireAfter or RefreshAfter: now() reads the clock
	hasher

	tab     table[K, V]   // lock-free reads; writes under mu
	stripes stripes[K, V] // hit counters and recency rings
	noLoad  load[K, V]    // read-only: what complete reads for a load that made none (load.go)
	// replacing is odd while Set or a refresh replaces a value, under mu:
	// the old entry leaves the table before the new one is in, and a Peek
	// that finds neither, and saw replacing odd or changed, looks again
	// under mu.
	replacing atomic.Uint64

	mu         sync.Mutex         // guards the fields below and those marked so
	order      tinylfu.List       // live entries' tn: LRU order with MaxEntries, else creation order
	loading    tinylfu.List       // the tn of loads in flight that are not in the table: refreshes and stale loads
	refreshing map[K]*entry[K, V] // refreshes in flight, by key
	exp        expiry[K, V]       // entries that can expire
	rec        recency[K, V]      // drains of the recency rings
	tiny       *tinylfu.Policy    // with Policy TinyLFU, which then keeps the order
	running    int                // loads and refreshes started and not over (ranLocked)
	ctxs       []loadCtx[K, V]    // the rest of the slab that loads take their loadCtx from (load.go)
	live       int                // stored values, expired ones not yet swept included
	awaiting   int                // removed values whose OnEvict waits for a release
	stats      counters           // all but lock-free hits
	closed     bool
	closeDone  chan struct{}  // closed once the first Close is over
	closer     uint64         // goroutine of the first Close
	notifiers  map[uint64]int // goroutines of the cache running callbacks, by id (load.go)
	idle       sync.Cond      // on mu: signalled when one of them is done, and when running drops to 0 after Close
}

// A removal is a value that left the cache, whose OnEvict call is pending.
type removal[K comparable, V any] struct {
	e   *entry[K, V]
	why Reason
}

// New returns a cache that creates missing values with load. A nil opts is
// the same as &Options{}: unbounded, no expiry, no callback. New returns an
// error, and no cache, when load is nil or an option is out of range.
func New[K comparable, V any](load Loader[K, V], opts *Options[K, V]) (*KeyedCache[K, V], error) {
	if load == nil {
		return nil, errNilLoader
	}
	if opts == nil {
		opts = &Options[K, V]{}
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &KeyedCache[K, V]{
		load:         load,
		onEvict:      opts.OnEvict,
		expireAfter:  opts.ExpireAfter,
		ttl:          opts.TTL,
		refreshAfter: opts.RefreshAfter,
		born:         time.Now(),
		hasher:       newHasher[K](),
		refreshing:   make(map[K]*entry[K, V]),
		notifiers:    make(map[uint64]int),
	}
	c.idle.L = &c.mu
	c.noLoad.mode = modeInline
	c.order.Init()
	c.loading.Init()
	if c.expireAfter != nil {
		c.ttl = 0
		c.exp.wheel = newWheel[K, V](0)
	}
	c.timed = c.ttl > 0 || c.expireAfter != nil || c.refreshAfter > 0
	c.rec.max = opts.MaxEntries
	c.rec.near = uint64(opts.MaxEntries / 4)
	if opts.Policy == TinyLFU {
		c.tiny = tinylfu.New(opts.MaxEntries)
	}
	c.stripes.init(opts.MaxEntries > 0)
	return c, nil
}

// hash returns the hash of key (hash.go). It panics, as a map would, if
// key's dynamic type is not hashable; every method hashes before it takes
// a lock.
func (c *KeyedCache[K, V]) hash(key K) uint64 {
	return hashKey(&c.hasher, key)
}

// Get returns the value for key, calling the Loader if no live value is
// stored. Concurrent Gets of a missing key share one Loader call and all
// receive its result; Gets of other keys do not wait for it.
//
// A Loader error, panic (as a [*PanicError]) or Goexit ([ErrLoaderExited])
// goes to every Get waiting on that load, and nothing is stored: the next
// Get calls the Loader again.
//
// The Loader runs in the goroutine of the Get that starts the load when that
// Get's context cannot end (its Done returns nil, as context.Background's
// does), and otherwise in a goroutine of its own, so that the Get can leave
// when its context ends. If ctx ends while Get waits, Get returns
// ctx.Err() at once; the load goes on for the other waiters. After Close,
// Get returns [ErrClosed].
//
// A hit takes no lock and does not allocate. With Options.RefreshAfter, a
// hit on a value old enough starts a refresh of it and still returns at once.
//
// A value returned by Get may be removed, and handed to OnEvict, while the
// caller still uses it; [KeyedCache.Acquire] prevents that.
func (c *KeyedCache[K, V]) Get(ctx context.Context, key K) (V, error) {
	h := c.hash(key)
	e := c.tab.lookup(h, key)
	if e != nil {
		if s := e.st.Load(); live(s) && c.fresh(e) {
			c.hit(e)
			if c.refreshAfter > 0 {
				c.maybeRefresh(ctx, e)
			}
			return e.val, nil
		}
	}
	v, _, err := c.getSlow(ctx, key, h, false, e == nil)
	return v, err
}

// hit counts a hit on e, found without a lock, and records it for the
// policy. While hits do not overlap, a bounded cache applies it at once,
// under mu taken with TryLock: no buffer, no later drain, and the exact
// order. Once a hit finds mu taken, hits are taken to overlap, and they
// record themselves in their stripes instead, without a lock (lru.go).
func (c *KeyedCache[K, V]) hit(e *entry[K, V]) {
	if c.rec.max != 0 && !c.stripes.concurrent.Load() {
		if c.mu.TryLock() {
			c.stats.hits++
			if live(e.st.Load()) { // else it left since the lookup
				// After the rings: a hit that read concurrent before
				// a drain cleared it may have recorded itself since,
				// and came first.
				if c.stripes.anyPending() {
					c.drainLocked()
				}
				c.accessLocked(e)
			}
			c.mu.Unlock()
			return
		}
		c.stripes.concurrent.Store(true)
	}
	i := c.stripes.pick()
	n := c.stripes.s[i].hits.Add(1)
	if c.rec.max != 0 {
		c.record(i, n, e)
	}
}

// getSlow is Get (or, with acquire, Acquire) under mu: it finds the value,
// or joins or starts its load. With acquire, the entry it returns is leased
// to the caller; a nil entry means there is nothing to release.
//
// absent says that the caller's lookup found no entry for key, so that this
// Get most likely starts the load: it then allocates the entry before it
// takes mu, which other misses wait for.
func (c *KeyedCache[K, V]) getSlow(ctx context.Context, key K, h uint64, acquire, absent bool) (V, *entry[K, V], error) {
	var zero V
	if ctx == nil {
		return zero, nil, errNilContext
	}
	var fresh *entry[K, V]
	if absent {
		fresh = c.newEntry(key, h)
	}
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return zero, nil, ErrClosed
		}
		now := c.now()
		out := c.sweepLocked(now, nil)
		e := c.tab.lookup(h, key)
		if e != nil && live(e.st.Load()) && c.expiredAt(e, now) {
			out = c.removeLocked(e, Expired, out)
			e = nil
		}
		if len(out) > 0 {
			// Run the callbacks before this Get joins or starts a load,
			// so that an OnEvict may Get the very key it is given.
			c.mu.Unlock()
			c.notify(out)
			continue
		}
		if e != nil && live(e.st.Load()) {
			c.stats.hits++
			c.touchLocked(e)
			var leased *entry[K, V]
			if acquire {
				e.st.Add(1)
				leased = e
			}
			refresh := c.refreshAfter > 0 && now >= e.tm().refresh.Load()
			c.mu.Unlock()
			if refresh {
				c.maybeRefresh(ctx, e)
			}
			return e.val, leased, nil
		}
		c.stats.misses++
		if e == nil && c.refreshAfter > 0 {
			e = c.refreshing[key]
		}
		if e != nil {
			// A load (or a refresh of an expired value) is in flight: join it.
			c.stats.shared++
			return c.join(ctx, e, acquire)
		}
		if err := ctx.Err(); err != nil {
			c.mu.Unlock()
			return zero, nil, err
		}
		if fresh == nil {
			fresh = c.newEntry(key, h) // under mu: a rare case
		}
		return c.start(ctx, fresh, acquire)
	}
}

// join waits, as one more waiter, for the load in flight for e. It is
// called with mu held, and unlocks it.
func (c *KeyedCache[K, V]) join(ctx context.Context, e *entry[K, V], acquire bool) (V, *entry[K, V], error) {
	l := e.loadLocked()
	e.waiters++
	if acquire {
		l.leases++
	}
	if l.wait == nil {
		l.wait = make(chan struct{})
	}
	c.mu.Unlock()
	v, err := c.wait(ctx, e, l, acquire)
	return v, c.leasedTo(e, l, acquire, err), err
}

// start registers a load of e's key, on behalf of a Get whose context is
// ctx, and runs it. e is new: in no structure yet. It is called with mu
// held, and unlocks it.
func (c *KeyedCache[K, V]) start(ctx context.Context, e *entry[K, V], acquire bool) (V, *entry[K, V], error) {
	key := e.key
	e.waiters = 1
	e.st.Store(stLoading)
	// This Get cannot leave before the load ends if its context cannot
	// end: it then loads in its own goroutine, and saves a goroutine and
	// two switches. With no values to keep either, and nothing else to
	// note, it needs no load until another call does (load.go).
	inline := ctx.Done() == nil
	var l *load[K, V]
	if !inline || acquire || key != key || (ctx != context.Background() && ctx != context.TODO()) {
		parent := ctx
		if !inline {
			// Its values, not its cancellation: context.Cause must not
			// find the cause of a Get that left (load.Value).
			parent = context.WithoutCancel(ctx)
		}
		l = &load[K, V]{parent: parent}
		if inline {
			l.mode = modeInline
		}
		if acquire {
			l.leases = 1
		}
		e.ld.Store(l)
	}
	if key != key {
		// A key not equal to itself could never be found again: load it
		// for this Get alone, and store nothing. Stale, it is listed as
		// staleLocked lists a load it takes out of the table.
		l.stale = true
		c.loading.PushBack(&e.tn)
	} else {
		c.tab.insertLocked(e)
	}
	c.running++
	if inline {
		var x *loadCtx[K, V]
		if l == nil {
			x = c.takeCtxLocked(e)
		}
		c.mu.Unlock()
		own, err := c.run(e, l, x)
		leased := c.leasedTo(e, l, acquire, err)
		if len(own) > 0 {
			c.notifyLeased(own, leased)
		}
		if err != nil {
			var zero V
			return zero, nil, err
		}
		return e.val, leased, nil
	}
	l.wait = make(chan struct{})
	c.mu.Unlock()
	go func() { _, _ = c.run(e, l, nil) }()
	v, err := c.wait(ctx, e, l, acquire)
	return v, c.leasedTo(e, l, acquire, err), err
}

// leasedTo returns e if the Acquire that received err from e's load holds a
// lease on it (the value was stored), else nil.
func (c *KeyedCache[K, V]) leasedTo(e *entry[K, V], l *load[K, V], acquire bool, err error) *entry[K, V] {
	if !acquire || err != nil || !l.leased {
		return nil
	}
	return e
}

// storeLocked makes e, whose load l returned a value that lives life (if
// hasLife; else Options.TTL), the live value of its key, and appends to out
// what that removes: the value it replaces, what the bound evicts, and e
// itself if it is born expired.
func (c *KeyedCache[K, V]) storeLocked(e *entry[K, V], l *load[K, V], life time.Duration, hasLife bool, out []removal[K, V]) []removal[K, V] {
	now := c.now()
	if !hasLife {
		life = c.ttl
	}
	expires := after(now, life)
	if c.timed {
		t := e.tm()
		t.expires = expires
		if c.refreshAfter > 0 {
			t.refresh.Store(after(now, c.refreshAfter))
		}
	}
	if l.mode == modeRefresh {
		// A refresh: it replaces the value it refreshes, if that is still
		// stored, and otherwise stores its own.
		if old := c.tab.lookup(e.hash(), e.key); old != nil {
			out = c.removeLocked(old, Replaced, out)
			c.drainLocked() // see Delete
		}
	}
	if hasLife && life <= 0 {
		// Born expired: the Gets of its load receive it, but it never
		// takes a place in the cache, and so evicts nothing.
		if l.mode != modeRefresh {
			c.tab.deleteLocked(e)
		}
		e.st.Store(uint64(l.leases))
		if l.leases > 0 { // never so for noLoad, which is never written
			l.leased = true
		}
		return c.retireLocked(e, Expired, out)
	}
	if l.mode == modeRefresh {
		c.tab.insertLocked(e)
	}
	c.live++
	if expires != 0 {
		c.exp.addLocked(e, now)
	}
	// Into the order before hits can see it live: a drain applies only
	// live entries, and must find them in the order.
	admitted := c.admitLocked(e, &out)
	e.st.Store(uint64(l.leases))
	if l.leases > 0 { // never so for noLoad, which is never written
		l.leased = true
	}
	if !admitted {
		out = c.removeLocked(e, Evicted, out)
	}
	return out
}

// removeLocked takes e, a stored value, out of every structure, counts why,
// and appends it to out for OnEvict, unless it is leased: then its OnEvict
// waits for the last release.
func (c *KeyedCache[K, V]) removeLocked(e *entry[K, V], why Reason, out []removal[K, V]) []removal[K, V] {
	if c.refreshAfter > 0 {
		c.unrefreshLocked(e)
	}
	c.tab.deleteLocked(e)
	c.forgetLocked(e)
	if c.timed && e.tm().expires != 0 {
		c.exp.removeLocked(e)
	}
	c.live--
	return c.retireLocked(e, why, out)
}

// retireLocked counts e's removal and hands it to OnEvict, through out, or
// to its last lease.
func (c *KeyedCache[K, V]) retireLocked(e *entry[K, V], why Reason, out []removal[K, V]) []removal[K, V] {
	switch why {
	case Evicted:
		c.stats.evictions++
	case Expired:
		c.stats.expirations++
	}
	e.why = uint8(why)
	if old := e.st.Or(stRemoved); old&leaseMask != 0 {
		c.awaiting++
		return out
	}
	if c.onEvict != nil {
		out = append(out, removal[K, V]{e, why})
	}
	return out
}

// notify calls OnEvict for each removal, outside mu. If one of the calls
// panics or calls runtime.Goexit, the others still run, every removal
// getting its OnEvict, and then the panic or Goexit goes on.
func (c *KeyedCache[K, V]) notify(out []removal[K, V]) {
	i := 0
	defer func() {
		if i < len(out) { // out[i]'s OnEvict did not return
			c.notify(out[i+1:])
		}
	}()
	for ; i < len(out); i++ {
		r := out[i]
		c.onEvict(r.e.key, r.e.val, r.why)
	}
}

// notifyLeased is notify for a Get or Acquire about to return, holding the
// lease on leased if that is not nil: if an OnEvict panics or calls
// runtime.Goexit, the call returns no release function, and so the lease
// is released here, so that the value it holds is not kept from its own
// OnEvict forever.
func (c *KeyedCache[K, V]) notifyLeased(out []removal[K, V], leased *entry[K, V]) {
	if leased == nil {
		c.notify(out)
		return
	}
	done := false
	defer func() {
		if !done {
			c.release(leased)
		}
	}()
	c.notify(out)
	done = true
}

// Peek returns the live value for key, if any. It does not load, does not
// count in Stats, does not change the LRU order and has no side effect.
//
// Peek takes no lock, but while Set or a refresh replaces a value, which
// takes the old one out before the new one is in: a Peek that then finds
// no live value (none, or one that has expired since) looks again under
// the cache's mutex, so that a key that has a value throughout never looks
// absent.
func (c *KeyedCache[K, V]) Peek(key K) (V, bool) {
	h := c.hash(key)
	seq := c.replacing.Load()
	e := c.tab.lookup(h, key)
	found := e != nil && live(e.st.Load()) && c.fresh(e)
	if !found && (seq&1 != 0 || c.replacing.Load() != seq) {
		// A replacement overlapped the lookup and the clock reading.
		c.mu.Lock()
		e = c.tab.lookup(h, key)
		found = e != nil && live(e.st.Load()) && c.fresh(e)
		c.mu.Unlock()
	}
	if !found {
		var zero V
		return zero, false
	}
	return e.val, true
}

// Delete removes the value for key and reports whether there was a live
// one. A load of key in flight goes stale: its waiters still receive its
// result, but it is not stored, and the next Get loads afresh. A refresh of
// key in flight is cancelled.
func (c *KeyedCache[K, V]) Delete(key K) bool {
	h := c.hash(key)
	c.mu.Lock()
	now := c.now()
	out := c.sweepLocked(now, nil)
	if r := c.refreshing[key]; r != nil {
		l := r.loadLocked()
		if r.waiters == 0 {
			l.cancel() // else Gets wait for it: it is their load now
		}
		c.staleLocked(r, l, Deleted)
	}
	found := false
	if e := c.tab.lookup(h, key); e != nil {
		if e.st.Load()&stLoading != 0 {
			c.staleLocked(e, e.loadLocked(), Deleted)
		} else {
			found = true
			out = c.removeLocked(e, Deleted, out)
		}
	}
	// Then empty the rings, so that none keeps e once it has left (a hit
	// that records e after this finds it removed), nor a value removed
	// earlier while hits on it overlapped (doc.go promises it of every
	// Delete, whether it finds its key or not).
	c.drainLocked()
	c.mu.Unlock()
	c.notify(out)
	return found
}

// Clear removes every value, with reason Cleared (or Expired, for values
// whose lifetime had passed), makes every load in flight stale and cancels
// every refresh. After Clear returns, no Get that starts returns a value
// whose load began before it. Clear takes time proportional to the number
// of entries.
func (c *KeyedCache[K, V]) Clear() {
	c.mu.Lock()
	out := c.resetAllLocked(Cleared, false)
	c.mu.Unlock()
	c.notify(out)
}

// resetAllLocked removes every stored value with reason why (expired ones
// with Expired) and makes every load in flight stale; with cancel, or for
// refreshes, it cancels them too.
func (c *KeyedCache[K, V]) resetAllLocked(why Reason, cancel bool) []removal[K, V] {
	out := c.sweepLocked(c.now(), nil)
	// First the loads whose placeholders are in the table, if running
	// counts more loads than the list holds (it may count one that
	// complete has finished but not yet counted as over: the walk then
	// finds none): made stale, they join the list.
	if c.running > c.loading.Len() {
		var placeholders []*entry[K, V]
		c.tab.rangeLocked(func(e *entry[K, V]) bool {
			if e.st.Load()&stLoading != 0 {
				placeholders = append(placeholders, e)
			}
			return true
		})
		for _, e := range placeholders {
			c.staleLocked(e, e.loadLocked(), why)
		}
	}
	for n := c.loading.Front(); n != nil; n = c.loading.Next(n) {
		e := entryOf[K, V](n)
		l := e.loadLocked()
		if cancel || (l.mode == modeRefresh && e.waiters == 0) {
			l.cancel()
		}
		c.staleLocked(e, l, why)
	}
	c.drainLocked()
	for e := c.firstLocked(); e != nil; e = c.firstLocked() {
		out = c.removeLocked(e, why, out)
	}
	// Empty the rings again: a hit that found a value live before it was
	// removed may have recorded it since the drain above.
	c.drainLocked()
	return out
}

// Len returns the number of live values. It has no side effect: in a cache
// with expiry, it counts the values that have expired since the last sweep
// to leave them out, in time proportional to their number.
func (c *KeyedCache[K, V]) Len() int {
	c.mu.Lock()
	n := c.live - c.expiredLocked(c.now())
	c.mu.Unlock()
	return n
}

// Keys returns the keys of the live values: with Options.MaxEntries, least
// recently used first under LRU, and under TinyLFU in the order the package
// documentation gives; otherwise oldest first. It has no side effect but
// applying buffered hits to the LRU order, and takes time proportional to
// the number of entries.
func (c *KeyedCache[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	now := c.now()
	keys := make([]K, 0, c.live)
	c.ascendLocked(func(e *entry[K, V]) bool {
		if !c.expiredAt(e, now) {
			keys = append(keys, e.key)
		}
		return true
	})
	return keys
}

// All returns an iterator over the live values and their keys, in the order
// of [KeyedCache.Keys], as of when iteration starts. It has no side effect:
// no callback, no recency, no Stats. The loop body runs outside the cache's
// locks and may call the cache. Starting an iteration takes time and memory
// proportional to the number of entries.
func (c *KeyedCache[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		c.mu.Lock()
		c.drainLocked()
		now := c.now()
		snap := make([]*entry[K, V], 0, c.live)
		c.ascendLocked(func(e *entry[K, V]) bool {
			if !c.expiredAt(e, now) {
				snap = append(snap, e)
			}
			return true
		})
		c.mu.Unlock()
		for _, e := range snap {
			if !yield(e.key, e.val) {
				return
			}
		}
	}
}

// Stats returns a snapshot of the cache's counters. It has no side effect;
// its Entries is counted as Len's is.
func (c *KeyedCache[K, V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Hits:            c.stats.hits + c.stripes.hits(),
		Misses:          c.stats.misses,
		Loads:           c.stats.loads,
		LoadErrors:      c.stats.loadErrors,
		Shared:          c.stats.shared,
		Evictions:       c.stats.evictions,
		Expirations:     c.stats.expirations,
		LoadTime:        c.stats.loadTime,
		Entries:         c.live - c.expiredLocked(c.now()),
		Refreshes:       c.stats.refreshes,
		AwaitingRelease: c.awaiting,
	}
}

// Close removes every value with reason [Closed] (or Expired), cancels the
// context of every load and refresh in flight, stale ones included, makes
// them stale, and waits for their Loaders to return. Get then returns
// [ErrClosed]. Close is idempotent and always returns nil; every Close,
// concurrent ones included, returns after every OnEvict(Closed) has run,
// except for values still leased (their OnEvict runs at their last
// release, which Close does not wait for) and for a Close called from
// inside an OnEvict(Closed), which returns at once. Close must not be
// called from a Loader, which it would wait for, nor from an OnEvict or
// ExpireAfter running in a Loader's goroutine (an OnEvict that a Delete,
// Set, Clear or Get made by the Loader runs). It takes time
// proportional to the number of entries.
func (c *KeyedCache[K, V]) Close() error {
	id := goid()
	c.mu.Lock()
	// A Close called from a callback that the cache's own goroutine runs
	// (a refresh's OnEvict) must not wait for that goroutine.
	_, inCallback := c.notifiers[id]
	if c.closed {
		done := c.closeDone
		nested := c.closer == id || inCallback
		c.mu.Unlock()
		if !nested {
			<-done
		}
		return nil
	}
	c.closed = true
	c.closeDone = make(chan struct{})
	c.closer = id
	out := c.resetAllLocked(Closed, true)
	clear(c.refreshing)
	c.mu.Unlock()
	defer close(c.closeDone)
	defer c.awaitIdle(id)
	c.notify(out)
	return nil
}

// awaitIdle waits for every load to finish and for every goroutine of the
// cache that runs callbacks, the caller's own (id) excepted.
func (c *KeyedCache[K, V]) awaitIdle(id uint64) {
	c.mu.Lock()
	for c.running > 0 || len(c.notifiers) > 1 || (len(c.notifiers) == 1 && c.notifiers[id] == 0) {
		c.idle.Wait()
	}
	c.mu.Unlock()
}
