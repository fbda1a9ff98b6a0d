package keyedcache

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A hit must not write to memory that hits in other goroutines write too:
// one shared counter makes every hit wait for its cache line to travel
// between cores. So each hit counts itself, and records its recency, in one
// of several stripes, chosen by the address of the calling goroutine's
// stack, which is cheap to take and differs between goroutines. Goroutines
// that share a stripe stay correct; they only share its cache lines.

// ringSize is the number of accesses a stripe buffers before they must be
// applied to the LRU order. A power of two.
const ringSize = 32

// A stripe is padded to two cache lines so that neighbours never share one,
// even with adjacent-line prefetching.
type stripe[K comparable, V any] struct {
	hits atomic.Uint64 // lock-free hits counted here
	tail atomic.Uint32 // next slot to fill in ring; advanced by hits
	head atomic.Uint32 // next slot to apply; advanced under the cache's mu
	// ring holds accesses not yet applied to the LRU order; nil when the
	// cache is unbounded.
	ring *[ringSize]atomic.Pointer[entry[K, V]]
	_    [128 - 8 - 4 - 4 - 8]byte
}

// stripes is the set of stripes, and the state that keeps the LRU order
// exact while hits do not overlap (lru.go).
type stripes[K comparable, V any] struct {
	s    []stripe[K, V] // len is a power of two
	mask uint32         // len(s)-1
	_    [128 - 24 - 4]byte
	// concurrent is set while hits are taken to overlap; it is written
	// rarely.
	concurrent atomic.Bool
	_          [128 - 4]byte
	// pending has bit i%64 of word i/64 set when stripe i's ring may hold
	// records that no drain has taken, so that a drain reads those rings
	// alone, not every stripe (collectLocked, lru.go). One word per cache
	// line: the hits of different cores set bits in them.
	pending [maxStripes / 64]pendingWord
}

// maxStripes is the most stripes a cache has: a multiple of 64.
const maxStripes = 256

// A pendingWord is a word of stripes.pending, alone in its cache line.
type pendingWord struct {
	w atomic.Uint64
	_ [64 - 8]byte
}

// anyPending reports whether a ring may hold records.
func (ss *stripes[K, V]) anyPending() bool {
	for i := 0; i < len(ss.s); i += 64 {
		if ss.pending[i/64].w.Load() != 0 {
			return true
		}
	}
	return false
}

// mark notes that stripe i's ring holds a record. It writes the shared
// word only when the bit is clear, once per drain at most.
func (ss *stripes[K, V]) mark(i uint32) {
	w, bit := &ss.pending[i/64].w, uint64(1)<<(i%64)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

func (ss *stripes[K, V]) init(bounded bool) {
	n := 32
	for n < 8*runtime.GOMAXPROCS(0) && n < maxStripes {
		n *= 2
	}
	ss.s = make([]stripe[K, V], n)
	ss.mask = uint32(n - 1)
	if bounded {
		for i := range ss.s {
			ss.s[i].ring = new([ringSize]atomic.Pointer[entry[K, V]])
		}
	}
}

// pick returns the index of the calling goroutine's stripe.
func (ss *stripes[K, V]) pick() uint32 {
	var anchor byte
	// Goroutine stacks are at least 2 KiB and aligned to their size, so
	// above bit 11 the address names the goroutine (and, in a deep stack,
	// a region of it). The pointer is only hashed, never dereferenced.
	h := uint64(uintptr(unsafe.Pointer(&anchor)) >> 11)
	h *= 0x9E3779B97F4A7C15
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return uint32(h>>40) & ss.mask
}

// hits sums the stripes' hit counters.
func (ss *stripes[K, V]) hits() uint64 {
	var n uint64
	for i := range ss.s {
		n += ss.s[i].hits.Load()
	}
	return n
}
