package tinylfu

import "math/bits"

const (
	// ghostPeriod is the number of hashes, per unit of capacity, that a
	// generation of a ghost holds: a ghost remembers the last 0.75 to 1.5
	// times the capacity in rejected candidates.
	ghostPeriod = 0.75
	// ghostBitsPerKey is the size of a generation in bits per hash.
	ghostBitsPerKey = 12
	// scoreMax bounds the score of the ghost rule either way: the rule
	// turns on or off after at most twice this many contests decided the
	// other way.
	scoreMax = 64
	// pairsPerSlot is the capacity per slot of the table that follows
	// contests (at least 16 slots), and pairTTL the number of calls, per
	// unit of capacity, after which an undecided contest may be dropped.
	pairsPerSlot = 32
	pairTTL      = 4
)

// ghost remembers, approximately, the hashes of the last keys added to it:
// two Bloom filters, one generation each, of which the newer takes the
// additions, and the older is cleared and becomes the newer once the newer
// holds period hashes. A hash added among the last period additions is
// always found, one added between period and 2*period additions ago may
// be, and one not added since is found by mistake about 1.5% of the
// time. Each hash sets four bits in one 64-bit word of a generation, so
// that an addition touches one word and a lookup two.
type ghost struct {
	bits   []uint64 // both generations: words at [cur, cur+words) are the newer's
	cur    uint64
	words  uint64 // words per generation
	added  int    // hashes added to the newer generation
	period int
}

// init sizes g to remember period hashes per generation.
func (g *ghost) init(period int) {
	g.period = max(1, period)
	g.words = uint64(g.period*ghostBitsPerKey+63) / 64
	g.bits = make([]uint64, 2*g.words)
	g.cur = 0
	g.added = 0
}

// ghostBits returns the word of a generation, of words, and the four bits
// in it that stand for h.
func ghostBits(h, words uint64) (uint64, uint64) {
	h = mix(h ^ 0x6a09e667f3bcc909)
	i, _ := bits.Mul64(h&0xffffffff, words<<32)
	b := uint64(1)<<(h>>40&63) | uint64(1)<<(h>>46&63) | uint64(1)<<(h>>52&63) | uint64(1)<<(h>>58)
	return i, b
}

// add records h in the newer generation, first starting a new generation if
// the newer one is full.
func (g *ghost) add(h uint64) {
	if g.added >= g.period {
		g.cur = g.words - g.cur
		clear(g.bits[g.cur : g.cur+g.words])
		g.added = 0
	}
	i, b := ghostBits(h, g.words)
	g.bits[g.cur+i] |= b
	g.added++
}

// contains reports whether h is in either generation.
func (g *ghost) contains(h uint64) bool {
	i, b := ghostBits(h, g.words)
	return g.bits[i]&b == b || g.bits[g.words+i]&b == b
}

// pairs follows a sample of contests: a candidate found in the ghost, which
// the frequencies would reject, against its victim. Whichever of the two is
// requested first is the one the cache should have kept (as it would by
// Belady's rule), so the outcome of a contest scores the ghost rule
// whether the rule was applied or not. A table indexed by hash holds each
// side of a contest followed; a contest whose slots are taken by one not
// yet decided is not followed, and one undecided after ttl calls gives its
// slots up to the next.
type pairs struct {
	slots    []pairSlot
	mask     uint64
	ttl      uint64
	followed int // contests whose two slots are taken, expired ones included
}

type pairSlot struct {
	hash  uint64
	born  uint64 // the clock when the contest was followed
	other uint32 // the slot of the other side
	side  int8   // +1: the candidate, -1: the victim, 0: an empty slot
}

func (ps *pairs) init(size int, ttl uint64) {
	n := 16
	for n < size {
		n <<= 1
	}
	ps.slots = make([]pairSlot, n)
	ps.mask = uint64(n - 1)
	ps.ttl = ttl
}

func (ps *pairs) index(h uint64) uint64 { return mix(h^0xbb67ae8584caa73b) & ps.mask }

// free reports whether slot i can take a side of a new contest at time now,
// dropping the contest there if it has expired.
func (ps *pairs) free(i, now uint64) bool {
	s := &ps.slots[i]
	if s.side == 0 {
		return true
	}
	if now-s.born < ps.ttl {
		return false
	}
	ps.slots[s.other] = pairSlot{}
	*s = pairSlot{}
	ps.followed--
	return true
}

// add follows the contest of candidate c against victim v, if their slots
// are free.
func (ps *pairs) add(c, v, now uint64) {
	i, j := ps.index(c), ps.index(v)
	if i == j || !ps.free(i, now) || !ps.free(j, now) {
		return
	}
	ps.slots[i] = pairSlot{hash: c, born: now, other: uint32(j), side: 1}
	ps.slots[j] = pairSlot{hash: v, born: now, other: uint32(i), side: -1}
	ps.followed++
}

// request decides the contest of h, if one is followed: it returns +1 if h
// was its candidate, -1 if h was its victim, and 0 if h is in no contest
// followed.
func (ps *pairs) request(h uint64) int {
	s := &ps.slots[ps.index(h)]
	if s.side == 0 || s.hash != h {
		return 0
	}
	side := int(s.side)
	ps.slots[s.other] = pairSlot{}
	*s = pairSlot{}
	ps.followed--
	return side
}
