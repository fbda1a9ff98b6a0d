package keyedcache

import (
	"sync/atomic"
	"unsafe"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// An entry is one key's slot: first the placeholder of its load, then its
// stored value. It is the only allocation of a miss.
//
// key and hash never change. val and expires are written once, under mu,
// before the state word drops stLoading, and never change after: a new
// value for the key is a new entry. A hit that loads the state word and
// finds neither stLoading nor stRemoved may read them without a lock.
type entry[K comparable, V any] struct {
	tnode                 // must be first: the table converts *tnode to *entry
	why     uint8         // the Reason it left, for an OnEvict deferred by a lease; guarded by mu
	wpos    uint16        // level<<8 | bucket in the timer wheel, or unscheduled (expiry.go); guarded by mu
	waiters int32         // Gets waiting for the load; guarded by mu
	key     K             //
	st      atomic.Uint64 // state bits and lease count, below
	val     V             //
	expires int64         // clock reading at which it expires; 0: never
	refresh atomic.Int64  // clock reading after which a hit refreshes it; 0: never

	// tn.Hash is the key's hash, set before the entry is published and
	// never changed. tn's links, guarded by mu, place it in the order list
	// (the LRU order or, unbounded, creation order) or, with Options.Policy
	// TinyLFU, in the policy's queues.
	tn tinylfu.Node
	// guarded by mu
	tl links[K, V] // the loading list while it loads; then expiry order: a TTL list or a timer wheel bucket (expiry.go)
	ld *load[K, V] // the load in flight; nil once it is done
}

// newEntry returns an entry for key, whose hash is h, not yet in any
// structure.
func newEntry[K comparable, V any](key K, h uint64) *entry[K, V] {
	e := &entry[K, V]{key: key, wpos: unscheduled}
	e.tn.Hash = h
	return e
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
