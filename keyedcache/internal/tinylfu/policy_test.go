package tinylfu

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// checkInvariants checks p's lists and sizes, and that p holds exactly the
// nodes of want.
func checkInvariants(t *testing.T, p *Policy, nodes []Node, want map[int]bool) {
	t.Helper()
	if p.Len() > p.capacity {
		t.Fatalf("Len() = %d > capacity %d", p.Len(), p.capacity)
	}
	if p.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", p.Len(), len(want))
	}
	if p.window.len > p.windowMax || p.protected.len > p.protectedMax {
		t.Fatalf("window %d/%d, protected %d/%d", p.window.len, p.windowMax, p.protected.len, p.protectedMax)
	}
	for i := range nodes {
		if p.Contains(&nodes[i]) != want[i] {
			t.Fatalf("Contains(node %d) = %v, want %v", i, p.Contains(&nodes[i]), want[i])
		}
	}
	for q, l := range map[uint8]*List{inWindow: &p.window, inProbation: &p.probation, inProtected: &p.protected} {
		count := 0
		for n := l.root.next; n != &l.root; n = n.next {
			if n.next.prev != n || n.prev.next != n || n.queue != q {
				t.Fatalf("queue %d: broken links or queue %d at node %d", q, n.queue, ownerOf(nodes, n))
			}
			count++
		}
		if count != l.len {
			t.Fatalf("queue %d: %d nodes, len %d", q, count, l.len)
		}
	}
	seen := map[int]bool{}
	p.Ascend(func(n *Node) bool {
		if seen[ownerOf(nodes, n)] || !want[ownerOf(nodes, n)] {
			t.Fatalf("Ascend visits node %d twice or not in the policy", ownerOf(nodes, n))
		}
		seen[ownerOf(nodes, n)] = true
		return true
	})
	if len(seen) != len(want) {
		t.Fatalf("Ascend visits %d nodes, want %d", len(seen), len(want))
	}
	stop := 0
	p.Ascend(func(*Node) bool { stop++; return false })
	if stop > 1 {
		t.Fatalf("Ascend goes on after yield returned false")
	}
}

// runModel drives a policy with the operations that next draws, checking
// after each that every node added leaves exactly once: through Add's
// result, Remove or Reset.
func runModel(t *testing.T, next func() uint32) {
	capacity := 1 + int(next()%40)
	nodes := make([]Node, 3*capacity+5)
	p := New(capacity)
	in := map[int]bool{}
	for step := 0; step < 2000; step++ {
		op, i := next()%16, int(next())%len(nodes)
		n := &nodes[i]
		switch {
		case op < 6: // add, or access if present
			if in[i] {
				p.Access(n)
				break
			}
			// few distinct hashes: collisions in the sketch and the sims
			ev := add(p, n, uint64(i%(capacity+3)))
			in[i] = true
			if ev != nil {
				if !in[ownerOf(nodes, ev)] {
					t.Fatalf("Add returned node %d, not in the policy", ownerOf(nodes, ev))
				}
				delete(in, ownerOf(nodes, ev))
			} else if len(in) > capacity {
				t.Fatalf("Add returned nil with %d nodes in a policy of %d", len(in), capacity)
			}
		case op < 12:
			p.Access(n) // a node not in the policy is ignored
		case op < 14:
			p.Remove(n)
			delete(in, i)
		case op == 14:
			p.RecordMiss(uint64(next()))
		case next()%8 == 0:
			p.Reset()
			clear(in)
		}
		checkInvariants(t, p, nodes, in)
	}
}

func TestModel(t *testing.T) {
	iterations := 300
	if testing.Short() || raceEnabled {
		iterations = 30
	}
	for seed := range uint64(iterations) {
		r := rand.New(rand.NewPCG(seed, 1))
		runModel(t, r.Uint32)
	}
}

func FuzzModel(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		// the bytes seed a generator, so that short inputs make long runs
		var seed [8]byte
		copy(seed[:], data)
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:]), uint64(len(data))))
		runModel(t, r.Uint32)
	})
}

func TestCapacityOne(t *testing.T) {
	p := New(1)
	var a, b Node
	if ev := add(p, &a, 1); ev != nil {
		t.Fatalf("Add(a) evicted %v", ev)
	}
	if ev := add(p, &b, 2); ev != &a {
		t.Fatalf("Add(b) evicted %p, want a", ev)
	}
	if !p.Contains(&b) || p.Contains(&a) || p.Len() != 1 {
		t.Fatal("want b alone")
	}
}

func TestAddTwicePanics(t *testing.T) {
	p := New(4)
	var n Node
	add(p, &n, 1)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	add(p, &n, 1)
}

func TestNoAllocs(t *testing.T) {
	const capacity = 1000
	p := New(capacity)
	nodes := make([]Node, 4*capacity)
	for i := range nodes {
		add(p, &nodes[i], hashKey(uint64(i)))
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() {
		i++
		n := &nodes[i%len(nodes)]
		if p.Contains(n) {
			p.Access(n)
		}
	}); a != 0 {
		t.Errorf("Access: %v allocations", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		i++
		n := &nodes[i%len(nodes)]
		if !p.Contains(n) {
			add(p, n, hashKey(uint64(i%len(nodes))))
		}
	}); a != 0 {
		t.Errorf("Add: %v allocations", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		i++
		p.Remove(&nodes[i%len(nodes)])
	}); a != 0 {
		t.Errorf("Remove: %v allocations", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		i++
		p.RecordMiss(hashKey(uint64(i)))
	}); a != 0 {
		t.Errorf("RecordMiss: %v allocations", a)
	}
}

func BenchmarkAccess(b *testing.B) {
	const capacity = 1 << 16
	p := New(capacity)
	nodes := make([]Node, capacity)
	for i := range nodes {
		add(p, &nodes[i], hashKey(uint64(i)))
	}
	r := rand.New(rand.NewPCG(1, 2))
	order := make([]int, 1<<20)
	for i := range order {
		order[i] = int(r.ExpFloat64()*capacity/8) % capacity // skewed
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p.Access(&nodes[order[i&(len(order)-1)]])
	}
}

// BenchmarkAccessHit is a cache's hit path as bench.HitPath drives it:
// 8192 keys, read under a Zipf distribution, in a policy of twice as many
// nodes, which never evicts. policy=lru is what the same hits cost an exact
// LRU list, for comparison.
func BenchmarkAccessHit(b *testing.B) {
	const keys = 8192
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, 1.01, 1, keys-1)
	order := make([]int, 1<<20)
	for i := range order {
		order[i] = int(z.Uint64())
	}
	b.Run("policy=tinylfu", func(b *testing.B) {
		p := New(2 * keys)
		nodes := make([]Node, keys)
		for i := range nodes {
			add(p, &nodes[i], hashKey(uint64(i)))
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p.Access(&nodes[order[i&(len(order)-1)]])
		}
	})
	b.Run("policy=lru", func(b *testing.B) {
		var l List
		l.Init()
		nodes := make([]Node, keys)
		for i := range nodes {
			l.PushBack(&nodes[i])
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.MoveToBack(&nodes[order[i&(len(order)-1)]])
		}
	})
}

func BenchmarkAdd(b *testing.B) {
	const capacity = 1 << 16
	p := New(capacity)
	nodes := make([]Node, 4*capacity)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		n := &nodes[i%len(nodes)]
		p.Remove(n) // it may still be in the policy from its previous turn
		add(p, n, hashKey(uint64(i)))
	}
}

// add sets n's hash and adds it to p, as an owner does.
func add(p *Policy, n *Node, hash uint64) *Node {
	n.Hash = hash
	return p.Add(n)
}

// ownerOf returns the index in nodes of n, which must be one of them.
func ownerOf(nodes []Node, n *Node) int {
	return int((uintptr(unsafe.Pointer(n)) - uintptr(unsafe.Pointer(&nodes[0]))) / unsafe.Sizeof(nodes[0]))
}

// TestSaturatedSkipChangesNothing drives a policy with a skewed workload
// and, beside it, a sketch that counts every request, as a policy without
// Node.sat would. The two sketches must stay identical: a node skips only
// increments that would change nothing. The workload must also make nodes
// skip, across several agings, for the check to mean anything.
func TestSaturatedSkipChangesNothing(t *testing.T) {
	for _, capacity := range []int{16, 600, 3000} { // without sims, with, and a sketch that ages in steps
		rng := rand.New(rand.NewPCG(uint64(capacity), 7))
		zipf := rand.NewZipf(rng, 1.2, 1, uint64(8*capacity))
		nodes := make([]Node, 8*capacity+1)
		owner := map[*Node]bool{}
		adds := make([]int, len(nodes))
		p := New(capacity)
		var shadow sketch
		shadow.init(capacity)
		skipped, ages := 0, 0
		steps := 200000 * (1 + capacity/1000)
		for step := 0; step < steps; step++ {
			i := int(zipf.Uint64())
			n := &nodes[i]
			epoch := p.sketch.epoch
			switch {
			case step%50 == 49:
				h := rng.Uint64()
				p.RecordMiss(h)
				shadow.increment(mix(h))
			case owner[n]:
				if n.sat == p.sketch.epoch {
					skipped++
				}
				p.Access(n)
				shadow.increment(mix(n.Hash))
			default:
				// Nodes share hashes, and a node comes back with another
				// hash each time: its mark must not carry over.
				ev := add(p, n, uint64((i+7*adds[i])%(6*capacity)))
				adds[i]++
				shadow.increment(mix(n.Hash))
				owner[n] = true
				if ev != nil {
					delete(owner, ev)
				}
			}
			if p.sketch.epoch != epoch {
				ages++
			}
			if p.sketch.size != shadow.size || p.sketch.epoch != shadow.epoch {
				t.Fatalf("capacity %d, step %d: size %d epoch %d, want %d, %d", capacity, step, p.sketch.size, p.sketch.epoch, shadow.size, shadow.epoch)
			}
			if step%1000 == 0 || step == steps-1 {
				for j := range shadow.table {
					if p.sketch.table[j] != shadow.table[j] {
						t.Fatalf("capacity %d, step %d: sketch word %d is %#x, want %#x", capacity, step, j, p.sketch.table[j], shadow.table[j])
					}
				}
			}
		}
		t.Logf("capacity %d: %d increments skipped, %d agings", capacity, skipped, ages)
		if skipped < 1000 || ages < 3 {
			t.Fatalf("capacity %d: %d increments skipped over %d agings; the workload does not test the skip", capacity, skipped, ages)
		}
	}
}

// TestSketchAgesInSteps checks that an aging of a sketch larger than
// agingStep words halves agingStep words per increment, that an increment
// reports a change while one runs (so that no node is marked), and that it
// ends with the table and size that halving at once, then counting the same
// increments, gives.
func TestSketchAgesInSteps(t *testing.T) {
	var s, once sketch
	s.init(1 << 14)
	once.init(1 << 14)
	n := uint64(len(s.table))
	if n <= agingStep {
		t.Fatalf("table of %d words: no steps to test", n)
	}
	for i := range s.table {
		s.table[i] = 0xffffffffffffffff // every counter saturated
	}
	// The hash s.blockMask has its counters in the last block, which the
	// first step does not reach; hash 1 has them in block 1, which it does.
	// Both blocks start empty, so that their increments count.
	clear(s.table[n-8:])
	clear(s.table[8:16])
	copy(once.table, s.table)
	s.size, once.size = s.sampleSize-1, s.sampleSize-1

	if !s.increment(s.blockMask) || s.sweep != agingStep || s.epoch != 2 {
		t.Fatalf("after the starting increment: sweep %d, epoch %d; want %d, 2", s.sweep, s.epoch, agingStep)
	}
	if s.table[0] != resetMask || s.table[agingStep] != 0xffffffffffffffff {
		t.Fatalf("first step: words %#x, %#x; want the first halved, the next not", s.table[0], s.table[agingStep])
	}
	once.increment(once.blockMask)
	for once.sweep < n {
		once.step()
	}

	increments := 0
	for s.sweep < n {
		if !s.increment(1) {
			t.Fatalf("increment during an aging reported no change")
		}
		increments++
		if uint64(increments) > n/agingStep {
			t.Fatalf("aging still running after %d increments", increments)
		}
	}
	if uint64(increments) != n/agingStep-1 {
		t.Errorf("the aging took %d more increments, want %d", increments, n/agingStep-1)
	}
	for range increments {
		once.increment(1)
	}
	for i := range s.table {
		if s.table[i] != once.table[i] {
			t.Fatalf("word %d is %#x, want %#x", i, s.table[i], once.table[i])
		}
	}
	if s.size != once.size || s.epoch != once.epoch {
		t.Errorf("size %d, epoch %d; want %d, %d", s.size, s.epoch, once.size, once.epoch)
	}
}

// age halves every counter at once: an aging started and run to its end,
// as the tests need one.
func (s *sketch) age() {
	s.startAging()
	for s.sweep < uint64(len(s.table)) {
		s.step()
	}
}
