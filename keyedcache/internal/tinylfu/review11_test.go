package tinylfu

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReview11EpochWrapMissesOneCount checks what becomes of a node's
// saturation mark when the sketch's epoch wraps. Node.sat's comment first
// said that a node sleeping through the wrap "misses one count, which only
// the frequency estimate can notice"; this test showed it missed every hit
// of the epoch, and the policy now clears the marks when the epoch wraps
// (clearMarks). The epoch skips 0, so it comes back to
// the same value after 2^32-1 agings; the test stands in for those by
// setting the epoch a few agings short of the node's mark and aging the
// sketch that many times (enough to bring the node's counters from 15 to
// 0, as the real agings would). The node's mark then matches again, and
// every hit until the next aging is skipped, not one: its frequency stays
// 0 however often it is hit, and the sketch's size, which schedules the
// next aging for every key, falls behind a sketch that counts every hit.
func TestReview11EpochWrapMissesOneCount(t *testing.T) {
	p := New(16)
	n := &Node{}
	add(p, n, 42)
	for range 20 {
		p.Access(n)
	}
	mark := n.sat
	if mark != p.sketch.epoch || p.sketch.frequency(n.Hash) != 15 {
		t.Fatalf("setup: sat %d epoch %d frequency %d", mark, p.sketch.epoch, p.sketch.frequency(n.Hash))
	}

	// 2^32-1 agings later, the last few of them done for real.
	const k = 6
	const period = 1<<32 - 1 // epochs run 1 .. 2^32-1
	p.sketch.epoch = uint32((uint64(mark)-1+period-k)%period + 1)
	for range k {
		p.sketch.age()
	}
	if p.sketch.epoch != mark {
		t.Fatalf("setup: epoch %d after the wrap, want %d", p.sketch.epoch, mark)
	}
	if f := p.sketch.frequency(n.Hash); f != 0 {
		t.Fatalf("setup: frequency %d after %d agings, want 0", f, k)
	}

	var shadow sketch
	shadow.init(16)
	copy(shadow.table, p.sketch.table)
	shadow.size, shadow.epoch = p.sketch.size, p.sketch.epoch

	const hits = 8
	for range hits {
		p.Access(n)
		shadow.increment(mix(n.Hash))
	}
	got, want := p.sketch.frequency(n.Hash), shadow.frequency(n.Hash)
	if got != want || p.sketch.size != shadow.size {
		t.Errorf("after the epoch wrapped onto the node's mark, %d hits left its frequency at %d (size %d), where counting every hit gives %d (size %d)",
			hits, got, p.sketch.size, want, shadow.size)
	}
}

// TestReview11SkipAndSampleDecideNothing drives two policies with the same
// operations: P as it is, Q with each node's saturation mark cleared and
// its sample bit recomputed from its hash before every hit, so that Q
// increments the sketch and decides the sample on every request, as the
// policy did before Node.sat and Node.sampled. Beyond the sketch (which
// TestSaturatedSkipChangesNothing compares), every decision must agree:
// the node evicted, the queues' order, the window's size and adjustment,
// the sims' choice and the ghost rule. The operations include Remove and
// Reset followed by Add of the same node with another hash, RecordMiss, and
// capacities without sims (1, 16) and with (300).
func TestReview11SkipAndSampleDecideNothing(t *testing.T) {
	for _, capacity := range []int{1, 16, 300} {
		rng := rand.New(rand.NewPCG(uint64(capacity), 11))
		keys := uint64(6 * capacity)
		zipf := rand.NewZipf(rng, 1.1, 1, keys)
		pn := make([]Node, 4*capacity+2)
		qn := make([]Node, len(pn))
		p, q := New(capacity), New(capacity)
		in := make([]bool, len(pn))
		gen := make([]uint64, len(pn))
		skipped, sampledHits, resets := 0, 0, 0
		steps := 120000
		if capacity == 300 {
			steps = 300000
		}
		idx := func(nodes []Node, n *Node) int {
			if n == nil {
				return -1
			}
			return ownerOf(nodes, n)
		}
		for step := range steps {
			i := int(zipf.Uint64()) % len(pn)
			var ep, eq *Node
			switch r := rng.IntN(1000); {
			case r < 15:
				h := rng.Uint64N(keys)
				p.RecordMiss(h)
				q.RecordMiss(h)
			case r < 20 && in[i]:
				p.Remove(&pn[i])
				q.Remove(&qn[i])
				in[i] = false
			case r == 20 && step%7 == 0:
				p.Reset()
				q.Reset()
				clear(in)
				resets++
			case in[i]:
				if pn[i].sat == p.sketch.epoch {
					skipped++
				}
				if pn[i].sampled {
					sampledHits++
				}
				qn[i].sat = 0
				qn[i].sampled = q.inSample(mix(qn[i].Hash))
				p.Access(&pn[i])
				q.Access(&qn[i])
			default:
				// The node comes back with another key now and then.
				h := (uint64(i) + 5*gen[i]) % keys
				gen[i]++
				ep, eq = add(p, &pn[i], h), add(q, &qn[i], h)
				in[i] = true
				if ep != nil {
					in[ownerOf(pn, ep)] = false
				}
			}
			if idx(pn, ep) != idx(qn, eq) {
				t.Fatalf("capacity %d, step %d: P evicted node %d, Q node %d", capacity, step, idx(pn, ep), idx(qn, eq))
			}
			if p.windowMax != q.windowMax || p.adjustment != q.adjustment || p.simChoice != q.simChoice ||
				p.simCount != q.simCount || p.useGhost != q.useGhost || p.score != q.score || p.sketch.size != q.sketch.size {
				t.Fatalf("capacity %d, step %d: state differs: window %d/%d adj %d/%d choice %d/%d simCount %d/%d ghost %v/%v score %d/%d size %d/%d",
					capacity, step, p.windowMax, q.windowMax, p.adjustment, q.adjustment, p.simChoice, q.simChoice,
					p.simCount, q.simCount, p.useGhost, q.useGhost, p.score, q.score, p.sketch.size, q.sketch.size)
			}
			if step%997 == 0 || step == steps-1 {
				var op, oq []int
				p.Ascend(func(n *Node) bool { op = append(op, ownerOf(pn, n)); return true })
				q.Ascend(func(n *Node) bool { oq = append(oq, ownerOf(qn, n)); return true })
				if !slices.Equal(op, oq) {
					t.Fatalf("capacity %d, step %d: order differs:\n%v\n%v", capacity, step, op, oq)
				}
				if !slices.Equal(p.sketch.table, q.sketch.table) {
					t.Fatalf("capacity %d, step %d: sketches differ", capacity, step)
				}
				for j, s := range p.sims {
					if s.hits != q.sims[j].hits {
						t.Fatalf("capacity %d, step %d: sim %d hits %d, want %d", capacity, step, j, s.hits, q.sims[j].hits)
					}
				}
			}
		}
		t.Logf("capacity %d: %d hits skipped the sketch, %d sampled hits, %d resets, %d agings", capacity, skipped, sampledHits, resets, p.sketch.epoch-1)
		// At capacity 1 the sketch ages every 10 changes, so a key's four
		// counters hardly ever reach 15: only the decisions are compared.
		if (capacity > 1 && skipped < 1000) || p.sketch.epoch < 4 || (capacity == 300 && sampledHits < 1000) {
			t.Fatalf("capacity %d: workload too weak: %d skipped, %d sampled hits, epoch %d", capacity, skipped, sampledHits, p.sketch.epoch)
		}
	}
}
