package tinylfu

import (
	"math/rand/v2"
	"testing"
)

// queueOf returns the nodes of l, front to back.
func queueOf(l *List) []*Node {
	var ns []*Node
	for n := l.root.next; n != &l.root; n = n.next {
		ns = append(ns, n)
	}
	return ns
}

// shortPath reports whether Access would only move n (its short path).
func shortPath(p *Policy, n *Node) bool {
	return n.queue == inProtected && n.sat == p.sketch.epoch && !n.sampled && p.pairs.followed|p.adjustment == 0
}

// TestAccessLate drives a policy with a skewed mix of Access and AccessLate
// and checks each AccessLate against the rule: where Access would only move
// n, a protected node, and n was placed at the back of the protected queue
// fewer than near placements ago, nothing moves and only the request is
// counted; otherwise it does what Access does, which leaves n at the back of
// its queue. The stamps are compared with a count of the placements kept
// here, in 64 bits, so that the test sees when a stamp has wrapped.
func TestAccessLate(t *testing.T) {
	for _, tc := range []struct {
		capacity, keys int
		loop           bool // half the requests scan the keys in a loop
	}{
		{40, 50, false},       // no sims
		{600, 750, false},     // sims
		{600, 900, true},      // contests
		{12000, 15000, false}, // near at maxNear
	} {
		capacity := tc.capacity
		rng := rand.New(rand.NewPCG(uint64(capacity), uint64(tc.keys)))
		zipf := rand.NewZipf(rng, 1.1, 1, uint64(tc.keys-1))
		nodes := make([]Node, tc.keys)
		in := map[*Node]bool{}
		placedAt := map[*Node]uint64{} // placement count of each protected node's last placement
		var placed uint64              // placements at protected's back, in 64 bits
		p := New(capacity)
		if want := uint16(min(p.protectedMax/4, maxNear)); p.near != want || want == 0 {
			t.Fatalf("capacity %d: near = %d, want %d", capacity, p.near, want)
		}
		// track accounts for the placements the last call made (at most
		// two), found by their stamps among the last nodes of the queue.
		track := func() {
			for uint16(placed) != p.placed {
				placed++
				k := 0
				for n := p.protected.root.prev; n != &p.protected.root && k < 4; n = n.prev {
					if n.stampHi == uint16(placed) {
						placedAt[n] = placed
					}
					k++
				}
			}
		}
		// checkBack fails unless the back of the protected queue is the
		// node placed last, or, if no call placed one, the node that was
		// there or the one before it if that one left: a placement that
		// forgot its stamp is found here.
		checkBack := func(step int, back, before *Node, placedBefore uint16) {
			got := p.protected.root.prev
			switch {
			case got == &p.protected.root:
			case p.placed != placedBefore:
				if got.stampHi != p.placed {
					t.Fatalf("capacity %d, step %d: the node placed last holds stamp %d, want %d", capacity, step, got.stampHi, p.placed)
				}
			case got != back && !(back.queue != inProtected && got == before):
				t.Fatalf("capacity %d, step %d: a node reached the back of the protected queue without a placement", capacity, step)
			}
		}
		var skipped, moved, other int
		scan := 0
		step := func(step int) {
			n := &nodes[zipf.Uint64()]
			if tc.loop && rng.IntN(2) == 0 {
				n = &nodes[scan]
				scan = (scan + 1) % len(nodes)
			}
			if !in[n] {
				n.Hash = uint64(rng.Uint32())
				if ev := p.Add(n); ev != nil {
					delete(in, ev)
					delete(placedAt, ev)
				}
				in[n] = true
				return
			}
			if step%2 == 0 {
				p.Access(n)
				return
			}
			prev, next, back := n.prev, n.next, p.protected.root.prev
			lens := [3]int{p.window.len, p.probation.len, p.protected.len}
			now := p.now
			short := shortPath(p, n)
			age, known := placed-placedAt[n], placedAt[n] != 0
			p.AccessLate(n)
			switch {
			case short && uint16(age) < p.near:
				if !known {
					t.Fatalf("capacity %d, step %d: protected node with no placement seen", capacity, step)
				}
				if age >= uint64(p.near) && age < 1<<16 {
					t.Fatalf("capacity %d, step %d: age %d read as recent", capacity, step, age)
				}
				if n.prev != prev || n.next != next || p.protected.root.prev != back || lens != [3]int{p.window.len, p.probation.len, p.protected.len} {
					t.Fatalf("capacity %d, step %d: AccessLate of a node placed %d placements ago (near %d) moved nodes", capacity, step, age, p.near)
				}
				if p.now != now+1 || p.placed != uint16(placed) {
					t.Fatalf("capacity %d, step %d: now %d -> %d, placed %d -> %d; want the request counted and no placement", capacity, step, now, p.now, uint16(placed), p.placed)
				}
				skipped++
			case short:
				if p.protected.root.prev != n || p.placed != uint16(placed+1) || n.stampHi != p.placed {
					t.Fatalf("capacity %d, step %d: AccessLate of a node placed %d placements ago (near %d) did not move it to the back and stamp it", capacity, step, age, p.near)
				}
				moved++
			default:
				other++
				if n.queue == inProtected && p.protected.root.prev != n {
					t.Fatalf("capacity %d, step %d: AccessLate left where it was a node that Access would move", capacity, step)
				}
			}
		}
		for i := range 300000 {
			back, placedBefore := p.protected.root.prev, p.placed
			before := back.prev
			step(i)
			checkBack(i, back, before, placedBefore)
			track()
		}
		t.Logf("capacity %d, %d keys: %d skipped, %d moved on the short path, %d other", capacity, tc.keys, skipped, moved, other)
		if skipped < 1000 || moved < 500 || other < 100 {
			t.Fatalf("capacity %d, %d keys: %d skipped, %d moved, %d other: the workload does not test the rule", capacity, tc.keys, skipped, moved, other)
		}
	}
}

// TestAccessLateWraps checks the 16-bit arithmetic of the placements across
// their wrap: a node placed just before it is still recent just after, and
// one placed near placements before is not.
func TestAccessLateWraps(t *testing.T) {
	p := New(64)
	nodes := make([]Node, 4) // the last one stays in the window, of one node
	for i := range nodes {
		nodes[i].Hash = uint64(i + 1)
		p.Add(&nodes[i])
	}
	for i := range nodes[:3] {
		for range 40 { // to protected, counters saturated
			p.Access(&nodes[i])
		}
	}
	for i := range nodes[:3] {
		if !shortPath(p, &nodes[i]) {
			t.Fatalf("node %d: not on Access's short path (queue %d, sat %d, epoch %d)", i, nodes[i].queue, nodes[i].sat, p.sketch.epoch)
		}
	}
	a, b, c := &nodes[0], &nodes[1], &nodes[2]
	p.placed = 1<<16 - 2
	p.Access(a) // placed 65535
	p.Access(b) // placed 0
	p.Access(c) // placed 1
	if got := queueOf(&p.protected); got[len(got)-3] != a || got[len(got)-1] != c {
		t.Fatalf("Access did not move a, b and c to the back")
	}
	p.AccessLate(a) // 2 placements old, across the wrap
	if got := queueOf(&p.protected); got[len(got)-1] != c {
		t.Fatalf("AccessLate moved a node placed 2 placements ago, across the wrap (near %d)", p.near)
	}
	p.placed = a.stampHi + p.near // a is near placements old
	p.AccessLate(a)
	if got := queueOf(&p.protected); got[len(got)-1] != a {
		t.Fatalf("AccessLate left in place a node placed near (%d) placements ago", p.near)
	}
}

// TestGhostAdmissionStamps: a candidate that the ghost rule admits goes
// straight to the back of the protected queue, and is stamped there like
// every other placement.
func TestGhostAdmissionStamps(t *testing.T) {
	p := New(200)
	nodes := make([]Node, 202)
	for i := range nodes[:200] {
		add(p, &nodes[i], uint64(i+1))
	}
	if p.window.len != 1 || p.Len() != 200 {
		t.Fatalf("window %d, len %d: want a full policy with a window of one", p.window.len, p.Len())
	}
	candidate := p.window.Front()
	p.ghost.add(candidate.Hash) // rejected a short while ago
	p.useGhost = true
	p.placed = 1<<16 - 1
	add(p, &nodes[200], 1000)
	if candidate.queue != inProtected || p.protected.root.prev != candidate {
		t.Fatalf("the candidate is in queue %d, not at the back of the protected queue: the ghost rule did not admit it", candidate.queue)
	}
	if p.placed != 0 || candidate.stampHi != 0 {
		t.Fatalf("placed %d, candidate's stamp %d: want both 0, one placement after 2^16-1", p.placed, candidate.stampHi)
	}
}
