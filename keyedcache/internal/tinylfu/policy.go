package tinylfu

import "math"

const (
	// initialWindow is the share of the capacity the window starts with
	// (at least one node), until the sims first choose.
	initialWindow = 0.005
	// protectedShare is the share of the main space the protected queue may
	// hold.
	protectedShare = 0.80
	// admitWarm is the lowest frequency at which a candidate that is not
	// more popular than the victim may still be admitted, at random.
	admitWarm = 6
	// transfersPerOp bounds the nodes an operation moves between the window
	// and the main space when the window's size changes.
	transfersPerOp = 8
	// choiceMargin is the margin, in standard deviations of its hits
	// (counted as a Poisson variable), by which a sim must beat the sim of
	// the window chosen last to move the window to its size. Seven sims
	// compete with the one chosen last at each choice, and a window moved
	// wrongly stays for a whole period, so one sim ahead by chance must
	// rarely move it. Where all eight sims are equal (modelled with Poisson
	// hits, halved after each choice as replay does), three deviations
	// move the window in about one choice in 35 to 45, two in one in 5 to
	// 10.
	choiceMargin = 3
)

// Queues a node can be in.
const (
	inNone uint8 = iota
	inWindow
	inProbation
	inProtected
)

// A Node is embedded by value in the owner's entry; the policy links it into
// its queues. The zero Node is in no policy. A Node must not be copied or
// reused elsewhere while it is in a policy. The owner finds its entry from
// the Node by the Node's place in it.
type Node struct {
	prev, next *Node

	// Hash is the hash of the node's key, set by the owner before Add and
	// never changed while the node is in the policy. The policy only reads
	// it, so the owner may read it without the policy's lock.
	Hash uint64

	queue uint8
	// sampled says that Hash is in the sims' sample (simulate), as Add
	// found it.
	sampled bool
	// stampHi holds the high bits of Stamp, for a node in no Policy; in
	// the protected queue, the low 16 bits of Policy.placed when the node
	// was last placed at its back (AccessLate).
	stampHi uint16
	// sat is the sketch's epoch in which the policy found Hash's counters
	// saturated, or 0: until the next aging, a hit need not count it. When
	// the epoch wraps, after 2^32-1 agings, the policy clears every node's
	// mark (clearMarks), so that no mark of an old epoch matches again.
	sat uint32
}

// MaxStamp is the largest stamp a node holds: Stamp and SetStamp keep 48
// bits.
const MaxStamp = 1<<48 - 1

// Stamp returns the 48 bits that a Policy keeps in n for its own use (sat,
// and padding), for an owner that keeps n in no Policy: the cache's LRU
// order stamps each placement there.
func (n *Node) Stamp() uint64 { return uint64(n.stampHi)<<32 | uint64(n.sat) }

// SetStamp sets what Stamp returns (s <= MaxStamp); only for a node in no
// Policy.
func (n *Node) SetStamp(s uint64) { n.sat, n.stampHi = uint32(s), uint16(s>>32) }

// Policy is a window TinyLFU eviction policy for at most a fixed number of
// nodes. It is not safe for concurrent use: the owner serialises every call.
// The zero Policy is not usable; call New.
type Policy struct {
	window, probation, protected List

	capacity     int
	windowMax    int
	protectedMax int

	sketch sketch
	rng    uint64

	// adjustment is the number of nodes still to move into (> 0) or out of
	// (< 0) the window, towards the size the sims chose.
	adjustment int
	sims       []*sim
	simMask    uint64 // a hash is in the sims' sample if mix(hash)>>40&simMask == 0 (and there are sims)
	simCount   int    // sampled requests since the last choice
	simPeriod  int
	simChoice  int // the sim whose window was chosen last

	// ghost holds the hashes of recently rejected candidates. While
	// useGhost, a candidate found there is admitted; pairs follows a sample
	// of the contests the rule decides, or would, and score counts those
	// its way less those the other.
	ghost    ghost
	pairs    pairs
	now      uint64 // calls counted, the clock of pairs
	score    int
	useGhost bool

	// placed counts the placements at the back of the protected queue,
	// modulo 2^16; each node there holds the count of its own in stampHi.
	// AccessLate leaves in place a node placed fewer than near
	// placements ago.
	placed, near uint16
}

// maxNear bounds Policy.near: a node whose last placement is at least 2^16
// placements old holds a stamp that has wrapped, and looks recent to
// AccessLate for maxNear of every 2^16 values of the count (1/16).
const maxNear = 4096

// New returns a policy for at most capacity nodes (capacity >= 1). It
// allocates everything the policy will need: about 8 bytes per unit of
// capacity for the frequency sketch (rounded up to a power of two), about
// 2.25 for the ghost and 0.75 for the contests that score it (from 128
// nodes), and about 2.5 KB per sim for the window's adaptation (more below
// 512), each with a ghost of its own of about 600 bytes.
func New(capacity int) *Policy {
	if capacity < 1 {
		panic("tinylfu: capacity < 1")
	}
	p := &Policy{capacity: capacity}
	p.window.Init()
	p.probation.Init()
	p.protected.Init()
	p.windowMax = max(1, int(initialWindow*float64(capacity)))
	p.setProtectedMax()
	p.sketch.init(capacity)
	p.sketch.onWrap = p.clearMarks
	p.rng = 0x9e3779b97f4a7c15 ^ uint64(capacity)
	p.simMask = 1<<24 - 1 // no sims: see simulate
	if capacity < adaptMin {
		// Too small for the window to matter, and for sims worth their
		// cost: every request would replay in all of them.
		return p
	}

	shift := simShift(capacity)
	p.simMask = 1<<shift - 1
	c := capacity >> shift
	p.sims = make([]*sim, len(simWindows))
	for i, f := range simWindows {
		p.sims[i] = newSim(c, max(1, int(f*float64(c))))
	}
	p.simPeriod = simPeriod * c
	p.ghost.init(int(ghostPeriod * float64(capacity)))
	p.pairs.init(capacity/pairsPerSlot, pairTTL*uint64(capacity))
	return p
}

func (p *Policy) setProtectedMax() {
	p.protectedMax = int(protectedShare * float64(p.capacity-p.windowMax))
	p.near = uint16(min(p.protectedMax/4, maxNear))
}

// Len returns the number of nodes in the policy.
func (p *Policy) Len() int {
	return p.window.Len() + p.probation.Len() + p.protected.Len()
}

// Contains reports whether n is in the policy.
func (p *Policy) Contains(n *Node) bool {
	return n.queue != inNone
}

// Access records a hit on n, a node in the policy: it counts in n's
// frequency and moves n to the most recently used end of its queue; a node
// on probation moves to the protected queue. Accessing a node not in the
// policy does nothing.
func (p *Policy) Access(n *Node) {
	if p.onlyMoves(n) {
		// What access would do of the most common hit comes down to
		// this (observe's count included), without its calls and
		// branches. Access itself is too large for the compiler to
		// inline (cost 138, budget 80).
		p.protected.MoveToBack(n)
		p.stampPlaced(n)
		p.now++
		return
	}
	p.access(n)
}

// onlyMoves reports whether a hit on n would only move it to the back of
// the protected queue (and count the request): the most common hit, on a
// protected node whose counters are saturated, whose key is not in the
// sims' sample, while no contest is followed and the window is not moving.
func (p *Policy) onlyMoves(n *Node) bool {
	return n.queue == inProtected && n.sat == p.sketch.epoch && !n.sampled && p.pairs.followed|p.adjustment == 0
}

// stampPlaced counts a placement of n at the back of the protected queue,
// and stamps n with the count (AccessLate). Every such placement calls it.
func (p *Policy) stampPlaced(n *Node) {
	p.placed++
	n.stampHi = p.placed
}

// AccessLate is Access for a hit that the owner recorded while hits
// overlapped, and applies later in a batch. It does what Access does,
// except where Access would only move n, a protected node (its short
// path), and n was placed at the back of the protected queue fewer than
// near placements ago, near being a quarter of the queue's largest size
// (setProtectedMax), at most maxNear: it then only counts the request. Such
// a move would only reorder the nodes placed last, and it writes to the
// memory of the nodes hit most, which the owner's other cores then read
// again. The placements are counted in 16 bits: a node not placed for 2^16
// placements or more looks recent, and its hits are left in place, while
// the count (which other nodes' placements advance) is within near of its
// stamp, for at most 1/16 of the count's values. That is one more
// approximation for hits that overlap, most of which the owner samples out
// anyway; such a node, among the oldest of the queue, may be demoted to
// probation, where its frequency still defends it.
func (p *Policy) AccessLate(n *Node) {
	if p.onlyMoves(n) && p.placed-n.stampHi < p.near {
		p.now++
		return
	}
	p.Access(n)
}

// access is Access for every hit.
func (p *Policy) access(n *Node) {
	if n.queue == inProtected {
		p.protected.MoveToBack(n)
		p.stampPlaced(n)
	} else if !p.move(n) {
		return
	}
	// count for n, written out for the path of every hit: a hit on a node
	// whose counters are known to be saturated (Node.sat), where the
	// increment would change nothing, skips the sketch and makes no call,
	// and one whose hash is not in the sims' sample does not even mix it.
	if n.sat != p.sketch.epoch {
		p.countSketch(n)
	}
	p.observe(n.Hash)
	if n.sampled {
		p.replay(n.Hash)
	}
	p.adapt()
}

// move is Access's move of n when n is not in the protected queue. It
// reports false if n is in no queue.
func (p *Policy) move(n *Node) bool {
	switch n.queue {
	case inWindow:
		p.window.MoveToBack(n)
	case inProbation:
		p.probation.Remove(n)
		n.queue = inProtected
		p.protected.PushBack(n)
		p.stampPlaced(n)
		p.demote()
	default:
		return false
	}
	return true
}

// clearMarks clears the saturation mark of every node in the policy, when
// the sketch's epoch wraps: in time proportional to the capacity, once per
// 2^32-1 agings (each of which takes that time too).
func (p *Policy) clearMarks() {
	for _, l := range [...]*List{&p.window, &p.probation, &p.protected} {
		for n := l.root.next; n != &l.root; n = n.next {
			n.sat = 0
		}
	}
}

// RecordMiss counts a request for an absent key whose hash is hash, in the
// key's frequency and in the window's adaptation, for a miss that is not
// followed by Add (Add counts its miss itself). Counting such misses lets a
// key that is asked for often win admission on the Add that follows one day.
func (p *Policy) RecordMiss(hash uint64) {
	p.count(hash, mix(hash))
	p.adapt()
}

// count records a request for hash, whose mix is m, a hit or a miss: in
// the frequency sketch, in the score of the ghost rule and in the sims.
func (p *Policy) count(hash, m uint64) {
	p.sketch.increment(m)
	p.observe(hash)
	p.simulate(hash, m)
}

// countSketch increments n's counters, and marks n if they were all
// saturated.
func (p *Policy) countSketch(n *Node) {
	if !p.sketch.increment(mix(n.Hash)) {
		n.sat = p.sketch.epoch
	}
}

// Add inserts n, not yet in the policy, whose key hashes to n.Hash, at the
// most recently used end of the window, and counts it in the key's
// frequency. If the policy then holds more than its capacity, Add removes
// one node and returns it; otherwise it returns nil. The node removed is
// usually the least recently used node of the window or of probation,
// whichever the frequency sketch says is less popular: it may be n itself
// only when the window holds nothing else. Adding a node already in a
// policy panics.
func (p *Policy) Add(n *Node) (evicted *Node) {
	if n.queue != inNone {
		panic("tinylfu: Add of a node already in a policy")
	}
	// The node may have held another key; its first hit marks it if its
	// counters are saturated.
	m := mix(n.Hash)
	n.sat = 0
	n.sampled = p.inSample(m)
	p.count(n.Hash, m)
	n.queue = inWindow
	p.window.PushBack(n)

	var candidate *Node
	if p.window.Len() > p.windowMax {
		candidate = p.window.Front()
		p.window.Remove(candidate)
		candidate.queue = inProbation
		p.probation.PushBack(candidate)
	}
	if p.Len() > p.capacity {
		evicted = p.evict(candidate)
	}
	p.adapt()
	return evicted
}

// evict removes and returns one node. candidate, if not nil, has just left
// the window for the probation queue and must win admission against the
// least recently used node of the main space to stay.
func (p *Policy) evict(candidate *Node) *Node {
	victim := p.probation.Front()
	if victim == candidate {
		victim = p.protected.Front()
	}
	var out *Node
	switch {
	case candidate == nil:
		// The window is below its size: the main space gives up a node.
		out = victim
		if out == nil {
			out = p.window.Front()
		}
	case victim == nil:
		out = candidate
	default:
		out = p.contest(candidate, victim)
	}
	p.unlink(out)
	p.demote()
	return out
}

// contest returns which of candidate, on probation, and victim to evict.
// The candidate stays if it is more popular (see admit) or, while the ghost
// rule is on, if it was rejected a short while ago: then it goes straight
// to the protected queue, as ARC moves a key found in its ghost lists to its
// frequent list. A candidate rejected is recorded in the ghost.
func (p *Policy) contest(candidate, victim *Node) *Node {
	admitted := p.admit(candidate.Hash, victim.Hash)
	if p.ghost.bits == nil {
		if admitted {
			return victim
		}
		return candidate
	}
	recent := p.ghost.contains(candidate.Hash)
	if recent && !admitted {
		p.pairs.add(candidate.Hash, victim.Hash, p.now)
	}
	switch {
	case recent && p.useGhost:
		p.probation.Remove(candidate)
		candidate.queue = inProtected
		p.protected.PushBack(candidate)
		p.stampPlaced(candidate)
		return victim
	case admitted:
		return victim
	}
	p.ghost.add(candidate.Hash)
	return candidate
}

// observe counts a request for hash in the score of the ghost rule, if it
// decides a contest followed, and advances the clock of the contests. The
// rule is on while more contests were decided its way, at most scoreMax
// more counting. While no contest is followed, as before the first
// eviction, a request costs no lookup.
func (p *Policy) observe(hash uint64) {
	p.now++
	if p.pairs.followed != 0 {
		p.decide(hash)
	}
}

// decide scores the contest that a request for hash decides, if any.
func (p *Policy) decide(hash uint64) {
	if d := p.pairs.request(hash); d != 0 {
		p.score = min(max(p.score+d, -scoreMax), scoreMax)
		p.useGhost = p.score > 0
	}
}

// admit reports whether a candidate with hash c should replace a victim
// with hash v: it must be more popular. A warm candidate that is not wins
// now and then at random, so that an attacker who makes a victim's counters
// look hot cannot keep every newcomer out.
func (p *Policy) admit(c, v uint64) bool {
	cf, vf := p.sketch.frequency(c), p.sketch.frequency(v)
	if cf > vf {
		return true
	}
	if cf < admitWarm {
		return false
	}
	return p.random()&127 == 0
}

// random returns the next number of an xorshift64* generator.
func (p *Policy) random() uint64 {
	p.rng ^= p.rng >> 12
	p.rng ^= p.rng << 25
	p.rng ^= p.rng >> 27
	return p.rng * 0x2545f4914f6cdd1d
}

// Remove takes n out of the policy, when the owner deletes it. Removing a
// node not in the policy does nothing. The key's frequency is not
// forgotten.
func (p *Policy) Remove(n *Node) {
	if n.queue != inNone {
		p.unlink(n)
	}
}

func (p *Policy) unlink(n *Node) {
	switch n.queue {
	case inWindow:
		p.window.Remove(n)
	case inProbation:
		p.probation.Remove(n)
	case inProtected:
		p.protected.Remove(n)
	}
	n.queue = inNone
}

// demote moves the least recently used protected nodes to probation while
// the protected queue is over its size.
func (p *Policy) demote() {
	for p.protected.Len() > p.protectedMax {
		d := p.protected.Front()
		p.protected.Remove(d)
		d.queue = inProbation
		p.probation.PushBack(d)
	}
}

// Ascend calls yield for every node in the policy, stopping early if yield
// returns false. The order is the window from its least to its most
// recently used node, then the probation queue from the node that entered
// it first (from the window, or demoted from the protected queue; a hit
// moves a node on probation to the protected queue), then the protected
// queue from its least to its most recently used node: roughly from the
// first node to be evicted to the last.
// Only roughly, since which of the window's and probation's oldest nodes goes
// first depends on their frequencies. yield must not call the policy.
func (p *Policy) Ascend(yield func(*Node) bool) {
	_ = p.window.ascend(yield) && p.probation.ascend(yield) && p.protected.ascend(yield)
}

// Reset removes every node from the policy, in time proportional to their
// number. The frequency sketch and the window's size are kept: they describe
// the workload, which a cleared cache usually meets again.
func (p *Policy) Reset() {
	p.window.clear()
	p.probation.clear()
	p.protected.clear()
}

// adapt moves a few nodes towards the window size the sims chose last.
func (p *Policy) adapt() {
	if p.adjustment != 0 {
		p.transfer()
	}
}

// transfer moves at most transfersPerOp nodes towards the window size the
// sims chose last.
func (p *Policy) transfer() {
	for i := 0; i < transfersPerOp && p.adjustment != 0; i++ {
		if p.adjustment > 0 {
			p.growWindow()
		} else {
			p.shrinkWindow()
		}
	}
}

// growWindow moves one unit of capacity from the main space to the window,
// and with it the main space's least recently used node.
func (p *Policy) growWindow() {
	if p.windowMax >= p.capacity-1 {
		p.adjustment = 0
		return
	}
	p.windowMax++
	p.setProtectedMax()
	p.adjustment--
	if n := p.probation.Front(); n != nil {
		p.probation.Remove(n)
		n.queue = inWindow
		p.window.PushBack(n)
	} else if n := p.protected.Front(); n != nil {
		p.protected.Remove(n)
		n.queue = inWindow
		p.window.PushBack(n)
	}
	p.demote()
}

// shrinkWindow moves one unit of capacity from the window to the main space,
// and with it the window's least recently used node if the window is full.
func (p *Policy) shrinkWindow() {
	if p.windowMax <= 1 {
		p.adjustment = 0
		return
	}
	p.windowMax--
	p.setProtectedMax()
	p.adjustment++
	if p.window.Len() > p.windowMax {
		n := p.window.Front()
		p.window.Remove(n)
		n.queue = inProbation
		p.probation.PushBack(n)
	}
}

// simulate replays a request for hash, whose mix is m, in the sims if it is
// in their sample. Without sims, simMask keeps every hash but those with 24
// zero bits out of the sample, and replay checks for sims.
func (p *Policy) simulate(hash, m uint64) {
	if p.inSample(m) {
		p.replay(hash)
	}
}

// inSample reports whether the hash whose mix is m is in the sims' sample.
func (p *Policy) inSample(m uint64) bool {
	return m>>40&p.simMask == 0
}

// replay replays a request for hash, one of the sample, in the sims, and at
// the end of each period sets the window's target size to that of the sim
// that hit most, its hits counted with exponential decay.
func (p *Policy) replay(hash uint64) {
	if len(p.sims) == 0 {
		return
	}
	for _, s := range p.sims {
		s.access(hash, &p.sketch, p.useGhost)
	}
	p.simCount++
	if p.simCount < p.simPeriod {
		return
	}
	p.simCount = 0
	best := 0
	for i, s := range p.sims {
		if s.hits > p.sims[best].hits {
			best = i
		}
	}
	// The sims' hits vary by chance, the more so as a sim holds few keys,
	// and a move of the window costs hits until the queues settle.
	if cur := p.sims[p.simChoice].hits; float64(p.sims[best].hits-cur) <= choiceMargin*math.Sqrt(float64(cur)) {
		best = p.simChoice
	}
	p.simChoice = best
	for _, s := range p.sims {
		s.hits >>= 1
	}
	target := max(1, int(simWindows[best]*float64(p.capacity)))
	p.adjustment = target - p.windowMax
}
