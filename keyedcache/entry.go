package keyedcache

import (
	"sync/atomic"

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
	tnode                               // must be first: the table converts *tnode to *entry
	why     uint8                       // the Reason it left, for an OnEvict deferred by a lease; guarded by mu
	wpos    uint16                      // level<<8 | bucket in the timer wheel, or unscheduled (expiry.go); guarded by mu
	waiters int32                       // Gets waiting for the load; guarded by mu
	key     K                           //
	hash    uint64                      //
	chain   atomic.Pointer[entry[K, V]] // next entry with the same hash (table.go)
	st      atomic.Uint64               // state bits and lease count, below
	val     V                           //
	expires int64                       // clock reading at which it expires; 0: never
	refresh atomic.Int64                // clock reading after which a hit refreshes it; 0: never

	// guarded by mu
	pl   links[K, V]                // the loading list while it loads; then the LRU list (lru.go) or creation order
	tn   tinylfu.Node[*entry[K, V]] // its place in the TinyLFU policy, with Options.Policy TinyLFU
	tl   links[K, V]                // expiry order: a TTL list or a timer wheel bucket (expiry.go)
	ld   *load[K, V]                // the load in flight; nil once it is done
	seen uint32                     // last drain that applied it (lru.go)
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
