package tinylfu

import "math/bits"

// sketch is a count-min sketch of 4-bit counters that estimates how often a
// hash was seen recently. Each hash owns four counters inside one 64-byte
// block of eight words (one counter in each pair of words), so an increment or
// an estimate touches one cache line. Counters saturate at 15. After
// sampleSize increments that changed some counter, every counter is halved:
// the history ages, and keys that were popular long ago lose to keys popular
// now. So that no increment does work proportional to the table, an aging
// halves agingStep words at the increment that starts it and as many at each
// increment after, until it has gone through the table: a table of n words
// takes n/agingStep increments, about a hundredth of a percent of the ten
// times n between two agings. Meanwhile estimates mix halved and unhalved
// blocks; a table of at most agingStep words ages at once.
//
// Between two agings a counter only grows, so once the four counters of a
// hash are saturated, incrementing them again changes nothing until the next
// aging. epoch numbers the agings, so that a Node can remember that its
// counters were saturated (Node.sat) and skip those increments. An aging
// advances the epoch when it starts, and while it runs increment reports
// every increment as a change, so that no node is marked until it ends.
type sketch struct {
	table      []uint64
	blockMask  uint64
	size       uint64
	sampleSize uint64
	epoch      uint32 // advanced when an aging starts; never 0
	// sweep is the next word the aging in progress halves, or len(table)
	// when none is; odd counts the odd counters it has halved, and aged is
	// size when it started (size then counts from 0).
	sweep uint64
	odd   uint64
	aged  uint64
	// onWrap, if not nil, is called when the epoch comes back to 1, after
	// 2^32-1 agings: the owner of the marks must then clear them.
	onWrap func()
}

const (
	resetMask = 0x7777777777777777
	oneMask   = 0x1111111111111111
	// agingStep is the number of words an aging halves per increment.
	agingStep = 1024
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
	s.epoch = 1
	s.sweep = n
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

// increment records an occurrence of a hash whose mix is m, and goes on
// with the aging in progress or starts one. It reports false if that
// changed nothing, all four counters being saturated and no aging running.
func (s *sketch) increment(m uint64) bool {
	block := (m & s.blockMask) << 3
	t := s.table[block : block+8 : block+8]
	c := m >> 32
	changed := incrementIn(&t[c&1], c>>1&15) |
		incrementIn(&t[2+c>>8&1], c>>9&15) |
		incrementIn(&t[4+c>>16&1], c>>17&15) |
		incrementIn(&t[6+c>>24&1], c>>25&15)
	s.size += changed
	switch {
	case s.sweep < uint64(len(s.table)):
		s.step()
		return true
	case s.size >= s.sampleSize:
		s.startAging()
	}
	return changed != 0
}

// incrementIn adds one to counter j of *w unless it is saturated, and
// returns 1 if it did, 0 if not, without a branch: for a counter x,
// (x+1)>>4 is 1 at 15 and 0 below.
func incrementIn(w *uint64, j uint64) uint64 {
	shift := j << 2
	inc := ((*w>>shift)&15+1)>>4 ^ 1
	*w += inc << shift
	return inc
}

// startAging starts an aging, and takes its first step.
func (s *sketch) startAging() {
	s.sweep, s.odd = 0, 0
	s.aged, s.size = s.size, 0
	if s.epoch++; s.epoch == 0 {
		s.epoch = 1
		if s.onWrap != nil {
			s.onWrap()
		}
	}
	s.step()
}

// step halves the next agingStep words of the aging in progress. At its
// end, the size the aging started from is halved, less half a unit per odd
// counter halved (four counters per occurrence), and added to the
// increments counted meanwhile.
func (s *sketch) step() {
	end := min(s.sweep+agingStep, uint64(len(s.table)))
	for i := s.sweep; i < end; i++ {
		w := s.table[i]
		s.odd += uint64(bits.OnesCount64(w & oneMask))
		s.table[i] = (w >> 1) & resetMask
	}
	s.sweep = end
	if end == uint64(len(s.table)) {
		s.size += (s.aged - min(s.aged, s.odd>>2)) >> 1
	}
}
