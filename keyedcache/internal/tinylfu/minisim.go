package tinylfu

const (
	// simMin is the capacity a sim should have at least, and simSmall the
	// least it may have to keep the sims' cost down (see simShift).
	simMin   = 256
	simSmall = 64
	// simRate is the shift of the sampling rate that keeps the sims' cost
	// at one sim's replay per request: one request in 2^simRate = 8.
	simRate = 3
	// adaptMin is the smallest capacity whose window adapts: below it the
	// window stays at its first size (one node), and there are no sims.
	adaptMin = 128
	// simPeriod is the number of sampled requests between two choices of
	// the window's size, per unit of a sim's capacity.
	simPeriod = 10
)

// simShift returns k for a policy of capacity c: the sims replay one key
// in 2^k and hold c>>k keys. k is the largest with c>>k >= simMin, unless
// that would replay more than one key in 2^simRate (eight sims, each
// replaying every key in four, cost a third of the time of a cache of 1024
// entries under churn, and a fifth of a miss's at 1000 entries): then the
// largest with c>>k >= simSmall, at most simRate.
func simShift(c int) int {
	if k := largestShift(c, simMin, 63); k >= simRate {
		return k
	}
	return largestShift(c, simSmall, simRate)
}

// largestShift returns the largest k, at most most, with c>>k >= least, or
// 0 if there is none.
func largestShift(c, least, most int) int {
	k := 0
	for k < most && c>>(k+1) >= least {
		k++
	}
	return k
}

// simWindows are the shares of the capacity the sims give their windows,
// each at least one node: the first is a window of a single node, the best
// where every key is as frequent as every other (a loop a little larger
// than the cache), since each node of window holds a key that then loses
// admission.
var simWindows = [...]float64{0, 0.01, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7}

// A sim is a miniature window TinyLFU cache that replays a sample of the
// keys with its own window size, to tell the policy which window size would
// have served the recent past best. It tracks hashes only, in fixed arrays:
// it never allocates after newSim. Its admission consults the policy's
// sketch, which counts every key, so it needs none of its own.
type sim struct {
	nodes        []simNode // 0, 1, 2: the sentinels of the window, probation and protected lists
	free         int32     // the first unused slot, linked through next
	table        []int32   // open addressing by hash: a slot in nodes, or 0
	shift        uint
	capacity     int
	windowMax    int
	protectedMax int
	lens         [4]int // by queue
	hits         uint64
	ghost        ghost // rejected candidates, as the policy's
}

type simNode struct {
	hash       uint64
	prev, next int32
	queue      uint8
}

func newSim(capacity, windowMax int) *sim {
	s := &sim{
		nodes:     make([]simNode, capacity+3),
		capacity:  capacity,
		windowMax: windowMax,
	}
	s.protectedMax = int(protectedShare * float64(capacity-windowMax))
	size := 4
	for size < 2*capacity {
		size <<= 1
	}
	s.table = make([]int32, size)
	s.ghost.init(int(ghostPeriod * float64(capacity)))
	s.shift = 64
	for n := size; n > 1; n >>= 1 {
		s.shift--
	}
	s.reset()
	return s
}

// reset empties s.
func (s *sim) reset() {
	for q := int32(0); q < 3; q++ {
		s.nodes[q] = simNode{prev: q, next: q}
	}
	for i := int32(3); i < int32(len(s.nodes)); i++ {
		s.nodes[i] = simNode{next: i + 1}
	}
	s.nodes[len(s.nodes)-1].next = 0
	s.free = 3
	clear(s.table)
	s.lens = [4]int{}
	s.hits = 0
}

func (s *sim) slot(h uint64) uint64 { return (h * 0x9e3779b97f4a7c15) >> s.shift }

// find returns the node of h, or 0.
func (s *sim) find(h uint64) int32 {
	mask := uint64(len(s.table) - 1)
	for i := s.slot(h); ; i = (i + 1) & mask {
		n := s.table[i]
		if n == 0 || s.nodes[n].hash == h {
			return n
		}
	}
}

func (s *sim) insert(h uint64, n int32) {
	mask := uint64(len(s.table) - 1)
	i := s.slot(h)
	for s.table[i] != 0 {
		i = (i + 1) & mask
	}
	s.table[i] = n
}

// delete removes h from the table (backward shift deletion).
func (s *sim) delete(h uint64) {
	mask := uint64(len(s.table) - 1)
	i := s.slot(h)
	for s.nodes[s.table[i]].hash != h {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; s.table[j] != 0; j = (j + 1) & mask {
		home := s.slot(s.nodes[s.table[j]].hash)
		// move j's entry to i if its home is not in (i, j]
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.table[i] = s.table[j]
			i = j
		}
	}
	s.table[i] = 0
}

func (s *sim) unlink(n int32) {
	nd := &s.nodes[n]
	s.nodes[nd.prev].next = nd.next
	s.nodes[nd.next].prev = nd.prev
	s.lens[nd.queue]--
}

func (s *sim) pushBack(q uint8, n int32) {
	root := int32(q)
	last := s.nodes[root].prev
	s.nodes[n].prev = last
	s.nodes[n].next = root
	s.nodes[n].queue = q
	s.nodes[last].next = n
	s.nodes[root].prev = n
	s.lens[q]++
}

func (s *sim) front(q uint8) int32 {
	if s.lens[q] == 0 {
		return 0
	}
	return s.nodes[q].next
}

// sim queues, also indexes of their sentinels
const (
	simWindow uint8 = iota
	simProbation
	simProtected
)

// access replays a request for h, admitting candidates found in the ghost
// if useGhost, as the policy does while its ghost rule is on.
func (s *sim) access(h uint64, sk *sketch, useGhost bool) {
	if n := s.find(h); n != 0 {
		s.hits++
		q := s.nodes[n].queue
		s.unlink(n)
		if q == simProbation {
			q = simProtected
		}
		s.pushBack(q, n)
		if q == simProtected && s.lens[simProtected] > s.protectedMax {
			d := s.front(simProtected)
			s.unlink(d)
			s.pushBack(simProbation, d)
		}
		return
	}
	var n int32
	if s.free != 0 {
		n = s.free
		s.free = s.nodes[n].next
	} else {
		// full: make room first, then reuse the slot
		n = s.evict(sk, useGhost)
	}
	s.nodes[n].hash = h
	s.insert(h, n)
	s.pushBack(simWindow, n)
	if s.lens[simWindow] > s.windowMax {
		c := s.front(simWindow)
		s.unlink(c)
		s.pushBack(simProbation, c)
	}
}

// evict removes one node to make room for a new one and returns its slot.
// The new node would enter the window and push the window's least recently
// used node out, to contend with the probation queue's.
func (s *sim) evict(sk *sketch, useGhost bool) int32 {
	var out int32
	candidate := int32(0)
	if s.lens[simWindow] >= s.windowMax {
		candidate = s.front(simWindow)
	}
	victim := s.front(simProbation)
	if victim == 0 {
		victim = s.front(simProtected)
	}
	switch {
	case candidate == 0:
		out = victim
		if out == 0 {
			out = s.front(simWindow)
		}
	case victim == 0:
		out = candidate
	case useGhost && s.ghost.contains(s.nodes[candidate].hash):
		out = victim
		s.unlink(candidate)
		s.pushBack(simProtected, candidate)
	case sk.frequency(s.nodes[candidate].hash) > sk.frequency(s.nodes[victim].hash):
		out = victim
	default:
		out = candidate
		s.ghost.add(s.nodes[candidate].hash)
	}
	s.unlink(out)
	s.delete(s.nodes[out].hash)
	if s.lens[simProtected] > s.protectedMax {
		d := s.front(simProtected)
		s.unlink(d)
		s.pushBack(simProbation, d)
	}
	return out
}
