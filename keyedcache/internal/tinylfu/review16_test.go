package tinylfu

// Review 16: AccessLate (a drained hit on a protected node placed fewer than
// near placements ago only counts the request), the placement count in
// Node.stampHi and Policy.near. What it tried:
//
//   - every site where a node enters the protected queue (Access's short
//     path, access, move, contest), and the paths that take nodes out of it
//     or resize it (demote, growWindow, shrinkWindow, Remove, Reset),
//     against a twin policy driven by the rule as written:
//     TestReview16AccessLateTwin. It found no placement without a stamp.
//     (clearMarks, on the epoch's wrap, writes sat alone, not stampHi.)
//   - mutations of the change. Five survived the tests it came with: the
//     contest's stamp removed (TestGhostAdmissionStamps expected stamp 0,
//     which an unstamped candidate holds anyway), near not recomputed when
//     the window moves, maxNear changed (TestAccessLate checks near against
//     maxNear itself), the adjustment condition dropped from AccessLate,
//     and its queue condition dropped (a node out of the protected queue
//     with a recent stamp left unmoved). The tests below kill them; a sixth,
//     in the cache, is in keyedcache/review16_test.go. Add clearing
//     stampHi survives, as it should: the stamp is read only in protected.
//   - the doc's figures: near is min(protectedMax/4, 4096); a node whose
//     stamp has wrapped looks recent for near of every 2^16 values of the
//     count, 1/16 at most: 6.25%, not "at most 6%" (TestReview16WrapShare).
//     That share is of the values of the count, not of the node's hits: a
//     burst of recorded hits on a wrapped node while no other node is
//     placed is all left in place.

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// r16Near is the near the doc states: a quarter of the protected queue's
// largest size, at most 4096.
func r16Near(p *Policy) uint16 { return uint16(min(p.protectedMax/4, 4096)) }

// r16Queue returns the indices in nodes of l's nodes, front to back.
func r16Queue(nodes []Node, l *List) []int {
	var s []int
	for n := l.root.next; n != &l.root; n = n.next {
		s = append(s, ownerOf(nodes, n))
	}
	return s
}

// r16Scalars returns the state of p that every call may change, but for
// the queues and the tables.
func r16Scalars(p *Policy) [17]uint64 {
	b := func(v bool) uint64 {
		if v {
			return 1
		}
		return 0
	}
	return [17]uint64{
		uint64(p.windowMax), uint64(p.protectedMax), uint64(p.adjustment), uint64(p.simCount),
		uint64(p.simChoice), p.rng, uint64(p.score), b(p.useGhost), p.now, uint64(p.placed),
		uint64(p.near), uint64(p.pairs.followed), p.sketch.size, uint64(p.sketch.epoch),
		uint64(p.window.len), uint64(p.probation.len), uint64(p.protected.len),
	}
}

// r16Same fails unless a and b, driven with the same calls on their own
// nodes, are in the same state; full compares the queues, the nodes and
// the tables too.
func r16Same(t *testing.T, where string, a, b *Policy, an, bn []Node, full bool) {
	t.Helper()
	if sa, sb := r16Scalars(a), r16Scalars(b); sa != sb {
		t.Fatalf("%s: state %v, twin's %v", where, sa, sb)
	}
	if !full {
		return
	}
	for _, q := range [][2]*List{{&a.window, &b.window}, {&a.probation, &b.probation}, {&a.protected, &b.protected}} {
		if qa, qb := r16Queue(an, q[0]), r16Queue(bn, q[1]); !slices.Equal(qa, qb) {
			t.Fatalf("%s: queue %v, twin's %v", where, qa, qb)
		}
	}
	for i := range an {
		x, y := &an[i], &bn[i]
		if x.queue != y.queue || x.sat != y.sat || x.sampled != y.sampled || x.stampHi != y.stampHi || x.Hash != y.Hash {
			t.Fatalf("%s: node %d differs from its twin: %+v, %+v", where, i, *x, *y)
		}
	}
	if !slices.Equal(a.sketch.table, b.sketch.table) || !slices.Equal(a.ghost.bits, b.ghost.bits) || !slices.Equal(a.pairs.slots, b.pairs.slots) {
		t.Fatalf("%s: the sketch, the ghost or the contests differ from the twin's", where)
	}
	for i := range a.sims {
		if a.sims[i].hits != b.sims[i].hits || !slices.Equal(a.sims[i].nodes, b.sims[i].nodes) {
			t.Fatalf("%s: sim %d differs from the twin's", where, i)
		}
	}
}

// TestReview16AccessLateTwin drives a policy that receives AccessLate
// beside a twin that receives, for each AccessLate, what the rule says: only
// now++ where n is protected, its counters saturated, not sampled, no
// contest followed, the window not moving and n placed fewer than near
// placements ago (counted modulo 2^16, near being the doc's); Access
// otherwise. Both receive the same Adds, Accesses, Removes, RecordMisses,
// Resets, and window moves (adjustment set as the sims set it), and must
// stay in the same state. The placement count starts just before its wrap.
// After every call p.near must be the doc's, and the stamps of the
// protected queue must grow from front to back, each node being younger
// than the one before it (ages counted here in 64 bits).
func TestReview16AccessLateTwin(t *testing.T) {
	allMoving, allElsewhere := 0, 0
	for _, tc := range []struct {
		capacity, keys, steps int
	}{
		{40, 60, 100000},     // no sims
		{600, 800, 150000},   // sims, contests
		{3000, 4000, 150000}, // a sketch that ages in steps
	} {
		capacity := tc.capacity
		rng := rand.New(rand.NewPCG(uint64(capacity), 16))
		zipf := rand.NewZipf(rng, 1.1, 1, uint64(tc.keys-1))
		an, bn := make([]Node, tc.keys), make([]Node, tc.keys)
		a, b := New(capacity), New(capacity)
		a.placed, b.placed = 1<<16-500, 1<<16-500
		in := make([]bool, tc.keys)
		var skips, late, lateMoving, lateElsewhere int
		scan := 0
		// total counts the placements in 64 bits, and last holds each
		// protected node's last placement in that count, found by its stamp
		// among the last nodes of the queue after each call (a call places
		// at most two).
		var total uint64
		last := make([]uint64, tc.keys)
		for step := range tc.steps {
			i := int(zipf.Uint64())
			if rng.IntN(10) == 0 { // a loop over the keys: contests
				i, scan = scan, (scan+1)%tc.keys
			}
			placed := a.placed
			switch r := rng.IntN(1000); {
			case r < 2:
				if in[i] {
					a.Remove(&an[i])
					b.Remove(&bn[i])
					in[i] = false
				}
			case r < 4:
				h := rng.Uint64()
				a.RecordMiss(h)
				b.RecordMiss(h)
			case r == 4 && rng.IntN(20) == 0:
				a.Reset()
				b.Reset()
				clear(in)
			case r >= 5 && r < 10:
				// A window move, as replay sets it.
				adj := rng.IntN(capacity/4+1) - a.windowMax + 1
				a.adjustment, b.adjustment = adj, adj
			case !in[i]:
				// Nodes come back with their stamp from before.
				h := uint64(i) * 0x9e3779b97f4a7c15
				an[i].Hash, bn[i].Hash = h, h
				ea, eb := a.Add(&an[i]), b.Add(&bn[i])
				in[i] = true
				if ea != nil {
					j := ownerOf(an, ea)
					if eb == nil || ownerOf(bn, eb) != j {
						t.Fatalf("capacity %d, step %d: Add evicted node %d, the twin another", capacity, step, j)
					}
					in[j] = false
				}
			case r < 600:
				n, m := &an[i], &bn[i]
				late++
				rest := m.sat == b.sketch.epoch && !m.sampled && b.pairs.followed == 0 && b.placed-m.stampHi < r16Near(b)
				if m.queue == inProtected && rest && b.adjustment != 0 {
					lateMoving++
				}
				if m.queue != inProtected && rest && b.adjustment == 0 {
					lateElsewhere++
				}
				if m.queue == inProtected && rest && b.adjustment == 0 {
					b.now++
					skips++
				} else {
					b.Access(m)
				}
				a.AccessLate(n)
			default:
				a.Access(&an[i])
				b.Access(&bn[i])
			}
			d := a.placed - placed
			if d > 2 {
				t.Fatalf("capacity %d, step %d: one call placed %d nodes", capacity, step, d)
			}
			total += uint64(d)
			k := 0
			for n := a.protected.root.prev; n != &a.protected.root && k < 4; n = n.prev {
				if age := a.placed - n.stampHi; age < d {
					last[ownerOf(an, n)] = total - uint64(age)
				}
				k++
			}
			where := "capacity " + itoa(capacity) + ", step " + itoa(step)
			r16Same(t, where, a, b, an, bn, step%256 == 0 || step == tc.steps-1)
			if a.near != r16Near(a) {
				t.Fatalf("%s: near %d, want min(protectedMax/4 = %d, 4096)", where, a.near, a.protectedMax/4)
			}
			if step%32 == 0 {
				prev := uint64(1<<64 - 1)
				for n := a.protected.root.next; n != &a.protected.root; n = n.next {
					age := total - last[ownerOf(an, n)]
					if age >= prev || uint16(age) != a.placed-n.stampHi {
						t.Fatalf("%s: a protected node %d placements old (stamp %d, count %d) behind one %d old: a placement without its stamp", where, age, n.stampHi, a.placed, prev)
					}
					prev = age
				}
			}
		}
		t.Logf("capacity %d: %d AccessLate, %d left in place, %d while the window moved, %d on recent nodes out of the protected queue, %d placements", capacity, late, skips, lateMoving, lateElsewhere, total)
		if skips < 1000 || total < 1<<16 {
			t.Fatalf("capacity %d: the workload does not test the rule", capacity)
		}
		allMoving += lateMoving
		allElsewhere += lateElsewhere
	}
	if allMoving < 20 || allElsewhere < 20 {
		t.Fatalf("%d AccessLate while the window moved, %d on recent nodes out of the protected queue: the workload does not test them", allMoving, allElsewhere)
	}
}

// itoa formats i without strconv, for the messages above.
func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	k := len(b)
	for ; i > 0; i /= 10 {
		k--
		b[k] = byte('0' + i%10)
	}
	return string(b[k:])
}

// TestReview16GhostAdmissionStamps: the candidate that the ghost rule
// admits straight to the protected queue is stamped with the placement
// count. TestGhostAdmissionStamps expects stamp 0, which a candidate never
// placed holds anyway; here the stamp it held before is not 0.
func TestReview16GhostAdmissionStamps(t *testing.T) {
	p := New(200)
	nodes := make([]Node, 202)
	for i := range nodes[:200] {
		add(p, &nodes[i], uint64(i+1))
	}
	candidate := p.window.Front()
	if candidate == nil || p.Len() != 200 {
		t.Fatalf("want a full policy with a node in the window")
	}
	candidate.stampHi = 777
	p.ghost.add(candidate.Hash)
	p.useGhost = true
	p.placed = 1234
	add(p, &nodes[200], 1000)
	if candidate.queue != inProtected || p.protected.root.prev != candidate {
		t.Fatalf("the ghost rule did not admit the candidate to the back of the protected queue (queue %d)", candidate.queue)
	}
	if p.placed != 1235 || candidate.stampHi != 1235 {
		t.Fatalf("placed %d, candidate's stamp %d: want both 1235", p.placed, candidate.stampHi)
	}
}

// TestReview16NearFollowsTheWindow: near is a quarter of the protected
// queue's largest size, at most 4096, also after the window grows and
// shrinks; and it is 4096 for a large policy.
func TestReview16NearFollowsTheWindow(t *testing.T) {
	p := New(50000)
	if p.near != 4096 {
		t.Fatalf("capacity 50000: near %d (protectedMax %d), want 4096", p.near, p.protectedMax)
	}
	p = New(2000)
	nodes := make([]Node, 2000)
	for i := range nodes {
		add(p, &nodes[i], uint64(i+1))
	}
	for _, adj := range []int{1200, -1100, 700} {
		p.adjustment = adj
		for p.adjustment != 0 {
			p.transfer()
			if p.near != r16Near(p) {
				t.Fatalf("window %d: near %d, want min(protectedMax/4 = %d, 4096)", p.windowMax, p.near, p.protectedMax/4)
			}
		}
	}
	if p.near != uint16(int(0.8*float64(2000-p.windowMax))/4) || p.windowMax < 700 {
		t.Fatalf("window %d: near %d", p.windowMax, p.near)
	}
}

// TestReview16LateHitWhileTheWindowMoves: while the window moves (the
// adjustment is not 0), Access takes its long path, which transfers nodes;
// AccessLate must too, even on a protected node placed last.
func TestReview16LateHitWhileTheWindowMoves(t *testing.T) {
	p := New(100)
	nodes := make([]Node, 100)
	for i := range nodes {
		add(p, &nodes[i], uint64(i+1))
	}
	n := &nodes[50]
	for range 40 {
		p.Access(n)
	}
	if !shortPath(p, n) || p.protected.root.prev != n {
		t.Fatalf("node not at the back of the protected queue on the short path")
	}
	p.adjustment = 4
	window := p.windowMax
	p.AccessLate(n)
	if p.adjustment != 0 || p.windowMax != window+4 {
		t.Fatalf("AccessLate while the window moves: adjustment %d, window %d, want 0 and %d", p.adjustment, p.windowMax, window+4)
	}
}

// TestReview16LateHitOutsideProtected: a node out of the protected queue
// whose stamp still looks recent (it left the queue, or the policy, a short
// while ago) and whose counters are saturated is moved by AccessLate as by
// Access: a node on probation goes to the protected queue.
func TestReview16LateHitOutsideProtected(t *testing.T) {
	p := New(100)
	nodes := make([]Node, 3)
	for i := range nodes {
		add(p, &nodes[i], uint64(i+1))
	}
	n := p.probation.Front()
	if n == nil {
		t.Fatalf("no node on probation")
	}
	n.sat, n.stampHi = p.sketch.epoch, p.placed // saturated, stamp recent
	p.AccessLate(n)
	if n.queue != inProtected || p.protected.root.prev != n || n.stampHi != p.placed {
		t.Fatalf("AccessLate left a node on probation (queue %d)", n.queue)
	}
}

// TestReview16WrapShare: a protected node on the short path whose stamp is
// fixed is left in place by AccessLate for exactly near of the 2^16 values
// of the placement count: 4096 at most, 1/16 (6.25%). The doc says "at most
// 6%".
func TestReview16WrapShare(t *testing.T) {
	p := New(50000)
	nodes := make([]Node, 300) // more than the window's 250
	for i := range nodes {
		add(p, &nodes[i], uint64(i+1))
	}
	var n *Node
	for i := range nodes {
		if n = &nodes[i]; !n.sampled && n.queue == inProbation {
			break
		}
	}
	for range 40 {
		p.Access(n)
	}
	if !shortPath(p, n) {
		t.Fatalf("node not on the short path")
	}
	stamp := n.stampHi
	left := 0
	for v := range 1 << 16 {
		p.placed = stamp + uint16(v)
		p.AccessLate(n)
		if p.placed == stamp+uint16(v) {
			left++
		}
		n.stampHi = stamp // as it was
	}
	if left != int(p.near) || left != 4096 {
		t.Fatalf("left in place for %d of 2^16 counts, near %d; want 4096", left, p.near)
	}
	t.Logf("a wrapped stamp looks recent for %d of 65536 counts: %.2f%%", left, 100*float64(left)/65536)
}
