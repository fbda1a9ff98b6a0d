package keyedcache

import "sync/atomic"

// An entry is one stored value. key, val and expires never change after the
// entry is published; a new value for the key is a new entry.
type entry[K comparable, V any] struct {
	key     K
	val     V
	expires int64       // clock reading at which it expires; 0: never
	removed atomic.Bool // set, under mu, when the entry leaves the cache

	// The fields below are written under mu while hits on other cores read
	// the fields above; a cache line between them keeps those hits from
	// losing their copy of the entry.
	_ [64]byte

	// guarded by mu
	prev, next *entry[K, V] // creation order (ttl.go)
	seen       uint64       // last drain that applied it (lru.go)
}

// The store is the map from keys to entries, built for lock-free reads in
// the way sync.Map was before Go 1.24, but typed: a read-only map that hits
// load atomically, and a dirty map, under mu, that takes new entries.
//
// Invariants, under mu:
//   - dirty == nil: read.m holds every live entry (and perhaps removed ones).
//   - dirty != nil: dirty holds exactly the live entries, and read.amended.
//
// A Get that does not find its key in read.m, while read.amended, takes mu
// and counts a promotion miss; after as many such misses as dirty has
// entries, dirty becomes the new read map. Copying read.m into a new dirty
// map happens at most once per promotion, so its cost is amortised over the
// misses that paid for the promotion.
type readMap[K comparable, V any] struct {
	m       map[K]*entry[K, V]
	amended bool // dirty holds entries that m lacks
}

// store is embedded in KeyedCache.
type store[K comparable, V any] struct {
	read   atomic.Pointer[readMap[K, V]]
	dirty  map[K]*entry[K, V] // guarded by mu
	misses int                // promotion misses, guarded by mu
}

func (s *store[K, V]) initStore() {
	s.read.Store(&readMap[K, V]{m: map[K]*entry[K, V]{}})
}

// loadLocked returns the entry stored for key, live or expired, or nil.
func (s *store[K, V]) loadLocked(key K) *entry[K, V] {
	if s.dirty != nil {
		return s.dirty[key]
	}
	if e := s.read.Load().m[key]; e != nil && !e.removed.Load() {
		return e
	}
	return nil
}

// missLocked counts a Get that had to take mu to look in dirty, and
// promotes dirty once such misses have paid for the copy.
func (s *store[K, V]) missLocked() {
	if s.dirty == nil {
		return
	}
	s.misses++
	if s.misses < len(s.dirty) {
		return
	}
	s.read.Store(&readMap[K, V]{m: s.dirty})
	s.dirty = nil
	s.misses = 0
}

// dirtyLocked makes sure dirty exists, copying the live entries of read.m.
func (s *store[K, V]) dirtyLocked() {
	if s.dirty != nil {
		return
	}
	r := s.read.Load()
	s.dirty = make(map[K]*entry[K, V], len(r.m)+1)
	for k, e := range r.m {
		if !e.removed.Load() {
			s.dirty[k] = e
		}
	}
	s.read.Store(&readMap[K, V]{m: r.m, amended: true})
}

// putLocked stores e, which must be the only live entry for its key.
func (s *store[K, V]) putLocked(e *entry[K, V]) {
	s.dirtyLocked()
	s.dirty[e.key] = e
}

// dropLocked marks e removed and forgets it.
func (s *store[K, V]) dropLocked(e *entry[K, V]) {
	e.removed.Store(true)
	s.dirtyLocked()
	delete(s.dirty, e.key)
}

// resetLocked forgets every entry at once; the caller marks them removed.
func (s *store[K, V]) resetLocked() {
	s.read.Store(&readMap[K, V]{m: map[K]*entry[K, V]{}})
	s.dirty = nil
	s.misses = 0
}
