package tinylfu

import "math/bits"

// sketch is a count-min sketch of 4-bit counters that estimates how often a
// hash was seen recently. Each hash owns four counters inside one 64-byte
// block of eight words (one counter in each pair of words), so an increment or
// an estimate touches one cache line. Counters saturate at 15. After
// sampleSize increments that changed some counter, every counter is halved:
// the history ages, and keys that were popular long ago lose to keys popular
// now.
type sketch struct {
	table      []uint64
	blockMask  uint64
	size       uint64
	sampleSize uint64
}

const (
	resetMask = 0x7777777777777777
	oneMask   = 0x1111111111111111
)

// init sizes s for a cache of capacity entries: the table holds the next
// power of two at or above capacity words, sixteen counters per entry.
func (s *sketch) init(capacity int) {
	n := uint64(8)
	for n < uint64(capacity) {
		n <<= 1
	}
	s.table = make([]uint64, n)
	s.blockMask = n/8 - 1
	s.sampleSize = 10 * uint64(capacity)
	s.size = 0
}

// mix spreads the bits of a hash that the owner computed, in case it is weak
// in its low bits.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// frequency returns the estimated number of recent occurrences of h, at
// most 15.
func (s *sketch) frequency(h uint64) uint64 {
	h = mix(h)
	block := (h & s.blockMask) << 3
	c := h >> 32
	f := uint64(15)
	for i := uint64(0); i < 4; i++ {
		x := c >> (i << 3)
		slot := block + (i << 1) + (x & 1)
		shift := ((x >> 1) & 15) << 2
		f = min(f, (s.table[slot]>>shift)&15)
	}
	return f
}

// increment records an occurrence of h.
func (s *sketch) increment(h uint64) {
	h = mix(h)
	block := (h & s.blockMask) << 3
	c := h >> 32
	added := s.incrementAt(block+(c&1), (c>>1)&15)
	added = s.incrementAt(block+2+((c>>8)&1), (c>>9)&15) || added
	added = s.incrementAt(block+4+((c>>16)&1), (c>>17)&15) || added
	added = s.incrementAt(block+6+((c>>24)&1), (c>>25)&15) || added
	if added {
		s.size++
		if s.size >= s.sampleSize {
			s.age()
		}
	}
}

// incrementAt adds one to counter j of word i unless it is saturated, and
// reports whether it did.
func (s *sketch) incrementAt(i, j uint64) bool {
	shift := j << 2
	mask := uint64(15) << shift
	if s.table[i]&mask != mask {
		s.table[i] += 1 << shift
		return true
	}
	return false
}

// age halves every counter. The odd counters lose half a unit each in the
// rounding; size accounts for it (four counters per occurrence).
func (s *sketch) age() {
	odd := 0
	for i, w := range s.table {
		odd += bits.OnesCount64(w & oneMask)
		s.table[i] = (w >> 1) & resetMask
	}
	s.size = (s.size - uint64(odd)>>2) >> 1
}
