package keyedcache

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// A KeyedCache holds one value per key, created by its [Loader] on first use
// and shared by every later caller, including callers that arrive while the
// value is being created. See the package documentation for the full
// contract.
//
// A KeyedCache is safe for concurrent use by multiple goroutines. It must be
// created with [New]; the zero value is not usable.
type KeyedCache[K comparable, V any] struct {
	load    Loader[K, V]
	onEvict func(K, V, Reason)
	ttl     time.Duration
	born    time.Time // origin of clock()

	store[K, V]                   // lock-free reads; writes under mu
	stripes     stripes[K, V]     // hit counters and recency rings
	running     sync.WaitGroup    // Loader goroutines
	mu          sync.Mutex        // guards the fields below and those marked so
	calls       map[K]*call[K, V] // loads in flight
	order       orderList[K, V]   // live entries, oldest first
	rec         recency[K, V]     // LRU order, with MaxEntries
	live        int               // live entries (some perhaps expired)
	stats       counters          // all but lock-free hits
	closed      bool
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
		load:    load,
		onEvict: opts.OnEvict,
		ttl:     opts.TTL,
		born:    time.Now(),
		calls:   make(map[K]*call[K, V]),
	}
	c.initStore()
	c.order.init()
	c.stripes.init(opts.MaxEntries > 0)
	if opts.MaxEntries > 0 {
		// The size is only a backstop: insertLocked evicts first, so
		// that it knows what left.
		c.rec.lru, _ = simplelru.NewLRU[*entry[K, V], struct{}](opts.MaxEntries, nil)
		c.rec.max = opts.MaxEntries
	}
	return c, nil
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
// A hit takes no lock and does not allocate.
func (c *KeyedCache[K, V]) Get(ctx context.Context, key K) (V, error) {
	r := c.read.Load()
	if e := r.m[key]; e != nil && !e.removed.Load() && !c.expired(e) {
		i := c.stripes.pick()
		n := c.stripes.s[i].hits.Add(1)
		if c.rec.lru != nil {
			c.record(i, n, e)
		}
		return e.val, nil
	}
	return c.getSlow(ctx, key)
}

func (c *KeyedCache[K, V]) getSlow(ctx context.Context, key K) (V, error) {
	var zero V
	if ctx == nil {
		return zero, errNilContext
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return zero, ErrClosed
	}
	e := c.loadLocked(key)
	c.missLocked()
	if e != nil && !c.expired(e) {
		c.stats.hits++
		c.touchLocked(e)
		c.mu.Unlock()
		return e.val, nil
	}
	c.stats.misses++
	out := c.expireLocked(nil)
	cl := c.calls[key]
	switch {
	case cl != nil:
		c.stats.shared++
		cl.waiters++
	case ctx.Err() != nil:
		c.mu.Unlock()
		c.notify(out)
		return zero, ctx.Err()
	default:
		cl = c.startLocked(ctx, key)
		c.mu.Unlock()
		c.notify(out)
		if ctx.Done() == nil {
			// This Get cannot leave before the load ends: load here,
			// and save a goroutine and two switches.
			c.run(key, cl)
			return cl.val, cl.err
		}
		go c.run(key, cl)
		return c.wait(ctx, key, cl)
	}
	c.mu.Unlock()
	c.notify(out)
	return c.wait(ctx, key, cl)
}

// Peek returns the live value for key, if any. It does not load, does not
// count in Stats and does not change the LRU order.
func (c *KeyedCache[K, V]) Peek(key K) (V, bool) {
	r := c.read.Load()
	e := r.m[key]
	if (e == nil || e.removed.Load()) && r.amended {
		c.mu.Lock()
		e = c.loadLocked(key)
		c.mu.Unlock()
	}
	if e == nil || e.removed.Load() || c.expired(e) {
		var zero V
		return zero, false
	}
	return e.val, true
}

// Delete removes the value for key and reports whether there was a live
// one. A load of key in flight goes stale: its waiters still receive its
// result, but it is not stored, and the next Get loads afresh.
func (c *KeyedCache[K, V]) Delete(key K) bool {
	c.mu.Lock()
	out := c.expireLocked(nil)
	if cl := c.calls[key]; cl != nil {
		c.staleLocked(key, cl)
	}
	e := c.loadLocked(key)
	if e != nil {
		out = c.removeLocked(e, Deleted, out)
	}
	c.mu.Unlock()
	c.notify(out)
	return e != nil
}

// Clear removes every value, with reason Cleared (or Expired, for values
// whose TTL had passed), and makes every load in flight stale. After Clear
// returns, no Get that starts returns a value whose load began before it.
func (c *KeyedCache[K, V]) Clear() {
	c.mu.Lock()
	out := c.resetAllLocked(Cleared)
	c.mu.Unlock()
	c.notify(out)
}

// Len returns the number of live values.
func (c *KeyedCache[K, V]) Len() int {
	c.mu.Lock()
	out := c.expireLocked(nil)
	n := c.live
	c.mu.Unlock()
	c.notify(out)
	return n
}

// Keys returns the keys of the live values: with Options.MaxEntries, least
// recently used first; otherwise oldest first.
func (c *KeyedCache[K, V]) Keys() []K {
	c.mu.Lock()
	out := c.expireLocked(nil)
	var keys []K
	if c.rec.lru != nil {
		c.drainLocked()
		keys = make([]K, 0, c.live)
		for _, e := range c.rec.lru.Keys() {
			keys = append(keys, e.key)
		}
	} else {
		keys = make([]K, 0, c.live)
		for e := c.order.front(); e != nil && e != &c.order.root; e = e.next {
			keys = append(keys, e.key)
		}
	}
	c.mu.Unlock()
	c.notify(out)
	return keys
}

// Stats returns a snapshot of the cache's counters.
func (c *KeyedCache[K, V]) Stats() Stats {
	c.mu.Lock()
	out := c.expireLocked(nil)
	s := Stats{
		Hits:        c.stats.hits + c.stripes.hits(),
		Misses:      c.stats.misses,
		Loads:       c.stats.loads,
		LoadErrors:  c.stats.loadErrors,
		Shared:      c.stats.shared,
		Evictions:   c.stats.evictions,
		Expirations: c.stats.expirations,
		LoadTime:    c.stats.loadTime,
		Entries:     c.live,
	}
	c.mu.Unlock()
	c.notify(out)
	return s
}

// Close removes every value with reason Closed (or Expired), cancels the
// context of every load in flight, makes those loads stale, and waits for
// their Loaders to return. Get then returns [ErrClosed]. Close is
// idempotent and always returns nil. It must not be called from a Loader,
// which it would wait for.
func (c *KeyedCache[K, V]) Close() error {
	c.mu.Lock()
	var out []removal[K, V]
	if !c.closed {
		c.closed = true
		for _, cl := range c.calls {
			cl.cancel()
		}
		out = c.resetAllLocked(Closed)
	}
	c.mu.Unlock()
	c.notify(out)
	c.running.Wait()
	return nil
}

// insertLocked stores a new entry for key, evicting the least recently
// used entry if the cache is full.
func (c *KeyedCache[K, V]) insertLocked(key K, val V, out []removal[K, V]) []removal[K, V] {
	out = c.expireLocked(out)
	e := &entry[K, V]{key: key, val: val, expires: c.expiry()}
	if c.rec.lru != nil {
		c.drainLocked()
		for c.rec.lru.Len() >= c.rec.max {
			old, _, _ := c.rec.lru.GetOldest()
			out = c.removeLocked(old, Evicted, out)
		}
		c.rec.lru.Add(e, struct{}{})
	}
	c.putLocked(e)
	c.order.pushBack(e)
	c.live++
	return out
}

// removeLocked takes e out of every structure, counts why, and appends it
// to out for OnEvict.
func (c *KeyedCache[K, V]) removeLocked(e *entry[K, V], why Reason, out []removal[K, V]) []removal[K, V] {
	c.dropLocked(e)
	c.order.remove(e)
	if c.rec.lru != nil {
		c.rec.lru.Remove(e)
	}
	c.live--
	switch why {
	case Evicted:
		c.stats.evictions++
	case Expired:
		c.stats.expirations++
	}
	if c.onEvict != nil {
		out = append(out, removal[K, V]{e, why})
	}
	return out
}

// resetAllLocked removes every entry with reason why (expired ones with
// Expired) and makes every load in flight stale.
func (c *KeyedCache[K, V]) resetAllLocked(why Reason) []removal[K, V] {
	out := c.expireLocked(nil)
	for _, cl := range c.calls {
		cl.stale = true
	}
	clear(c.calls)
	for e := c.order.front(); e != nil; e = c.order.front() {
		e.removed.Store(true)
		c.order.remove(e)
		if c.onEvict != nil {
			out = append(out, removal[K, V]{e, why})
		}
	}
	c.resetLocked()
	if c.rec.lru != nil {
		c.discardLocked()
		c.rec.lru.Purge()
	}
	c.live = 0
	return out
}

// notify calls OnEvict for each removal, outside mu.
func (c *KeyedCache[K, V]) notify(out []removal[K, V]) {
	for _, r := range out {
		c.onEvict(r.e.key, r.e.val, r.why)
	}
}
