package keyedcache

import "time"

// Values expire after creation, and every value lives for the same TTL, so
// the order in which values were created is also the order in which they
// expire. The cache keeps its entries in a list in creation order (which
// also serves Keys for unbounded caches); expired entries are always at its
// front, and sweeping them costs only what it removes. No goroutine runs in
// the background: writers and scanners sweep, and readers skip expired
// entries.

// clock returns the time since the cache was created. time.Since reads the
// monotonic clock, which testing/synctest fakes in its bubbles.
func (c *KeyedCache[K, V]) clock() int64 {
	return int64(time.Since(c.born))
}

// expired reports whether e has expired; it reads the clock only for an
// entry that can expire.
func (c *KeyedCache[K, V]) expired(e *entry[K, V]) bool {
	return e.expires != 0 && c.clock() >= e.expires
}

// expiredAt reports whether e has expired at clock reading now.
func (e *entry[K, V]) expiredAt(now int64) bool {
	return e.expires != 0 && now >= e.expires
}

// expiry returns the expiry stamp for an entry created now.
func (c *KeyedCache[K, V]) expiry() int64 {
	if c.ttl <= 0 {
		return 0
	}
	return c.clock() + int64(c.ttl)
}

// orderList is a circular doubly linked list of entries in creation order,
// with root as its sentinel; guarded by mu.
type orderList[K comparable, V any] struct {
	root entry[K, V]
}

func (l *orderList[K, V]) init() {
	l.root.next = &l.root
	l.root.prev = &l.root
}

func (l *orderList[K, V]) pushBack(e *entry[K, V]) {
	e.prev = l.root.prev
	e.next = &l.root
	e.prev.next = e
	l.root.prev = e
}

func (l *orderList[K, V]) remove(e *entry[K, V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// front returns the oldest entry, or nil.
func (l *orderList[K, V]) front() *entry[K, V] {
	if l.root.next == &l.root {
		return nil
	}
	return l.root.next
}

// expireLocked removes the expired entries, appending them to out.
func (c *KeyedCache[K, V]) expireLocked(out []removal[K, V]) []removal[K, V] {
	if c.ttl <= 0 {
		return out
	}
	now := c.clock()
	for e := c.order.front(); e != nil && e.expiredAt(now); e = c.order.front() {
		out = c.removeLocked(e, Expired, out)
	}
	return out
}
