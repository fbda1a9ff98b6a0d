package keyedcache

import (
	"sync/atomic"
	"unsafe"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// An entry is one key's slot: first the placeholder of its load, then its
// stored value.
//
// key and hash never change. val (and, in a timed cache, the expiry time)
// are written once, under mu, before the state word drops stLoading, and
// never change after: a new value for the key is a new entry. A hit that
// loads the state word and finds neither stLoading nor stRemoved may read
// them without a lock.
//
// A cache with TTL, ExpireAfter or RefreshAfter allocates each entry as a
// timedEntry, which adds its times and expiry links (tm); other caches
// allocate the entry alone and never call tm.
type entry[K comparable, V any] struct {
	tnode                 // must be first: the table converts *tnode to *entry
	why     uint8         // the Reason it left, for an OnEvict deferred by a lease; guarded by mu
	wpos    uint16        // level<<8 | bucket in the timer wheel, or unscheduled (expiry.go); guarded by mu
	waiters int32         // Gets waiting for the load; guarded by mu
	key     K             //
	st      atomic.Uint64 // state bits and lease count, below
	val     V             //

	// tn.Hash is the key's hash, set before the entry is published and
	// never changed. tn's links, guarded by mu, place it in the loading
	// list while it loads out of the table (a refresh, a stale load), then
	// in the order list (the LRU order or, unbounded, creation order) or,
	// with Options.Policy TinyLFU, in the policy's queues.
	tn tinylfu.Node
	// ld is the load in flight, or nil: once it is done, and while a load
	// that needs none runs without one (load.go). Written under mu, but
	// for the Loader's Done and AfterFunc (loadCtx), which may make it.
	ld atomic.Pointer[load[K, V]]
}

// A timedEntry is the entry of a cache with TTL, ExpireAfter or
// RefreshAfter: one allocation, the entry first.
type timedEntry[K comparable, V any] struct {
	entry[K, V]
	t timing[K, V]
}

// timing holds what only a timed cache needs of an entry.
type timing[K comparable, V any] struct {
	expires int64        // clock reading at which it expires; 0: never
	refresh atomic.Int64 // clock reading after which a hit refreshes it; 0: never
	tl      links[K, V]  // expiry order: a TTL list or a timer wheel bucket (expiry.go); guarded by mu
}

// tm returns e's timing. e must belong to a timed cache.
func (e *entry[K, V]) tm() *timing[K, V] {
	return &(*timedEntry[K, V])(unsafe.Pointer(e)).t
}

// newEntry returns an entry of a cache that is not timed for key, whose
// hash is h, not yet in any structure.
func newEntry[K comparable, V any](key K, h uint64) *entry[K, V] {
	e := &entry[K, V]{key: key, wpos: unscheduled}
	e.tn.Hash = h
	return e
}

// newEntry returns a new entry of c for key, whose hash is h, not yet in
// any structure.
func (c *KeyedCache[K, V]) newEntry(key K, h uint64) *entry[K, V] {
	if !c.timed {
		return newEntry[K, V](key, h)
	}
	t := &timedEntry[K, V]{entry: entry[K, V]{key: key, wpos: unscheduled}}
	t.tn.Hash = h
	return &t.entry
}

// hash returns the hash of e's key.
func (e *entry[K, V]) hash() uint64 { return e.tn.Hash }

// entryOf returns the entry whose tn is n.
func entryOf[K comparable, V any](n *tinylfu.Node) *entry[K, V] {
	if n == nil {
		return nil
	}
	return (*entry[K, V])(unsafe.Add(unsafe.Pointer(n), -unsafe.Offsetof(entry[K, V]{}.tn)))
}

// The state word: the low 32 bits count leases (lease.go); the bits above
// say where the entry stands.
const (
	stLoading = 1 << 32 // its load is in flight: val is not set
	stRemoved = 1 << 33 // it left the cache (or its load failed or went stale)
	leaseMask = 1<<32 - 1
)

// live reports whether the state word s belongs to a stored value that has
// not left the cache (it may have expired).
func live(s uint64) bool { return s&(stLoading|stRemoved) == 0 }
