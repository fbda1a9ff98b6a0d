package keyedcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

// Review 10: the table's reuse of its nodes (088d33e): emptied inner nodes
// reused at their own shift, buckets that splits replaced kept as
// inner.retired, emptied by deleteLocked as their keys leave, and reused
// once the inner node that replaced them is pruned.
//
// No defect was found. Every test in this file is a PASSING GUARD: it
// passes on the current code and pins what the reuse rests on, so that a
// later change that breaks it fails here. The argument was checked as
// follows: an inner node has one shift for life (a reader paused in one
// walks on with the right bits); a lookup that loaded a node while its
// key was present loaded the node then current on the key's path, and
// that node is unlinked only once every key under it has left (inner
// nodes: pruning; buckets: emptied, or retired and then every key they
// held deleted, each delete crossing the inner node that keeps them); and
// a retired bucket is emptied, slot by slot, by the deletes of its keys,
// which all cross that inner node. Tried and held: readers paused at every
// load of their walk for up to hundreds of writer steps (model below,
// 2000+ readers resumed inside a reused bucket or inner node per run);
// retired buckets and spare nodes checked after every change (not linked,
// not twice spare, not kept by a linked node, holding only entries in the
// table and below their node, inner nodes only ever at one shift); full
// collisions beside retirement; Set replacement, Delete, LRU and TinyLFU
// eviction at the bound, Clear, with weak pointers; lock-free Peek, Get
// and Acquire under churn, with and without -race.

// ---------------------------------------------------------------------------
// A step-by-step model of lock-free readers against the table's writer.

// r10Reader is a lookup cut into its atomic loads, so that a test can
// interleave it with the writer at any point: each step does one load.
type r10Reader struct {
	h       uint64
	key     int
	p       *tnode
	shift   int
	started bool
	bucket  *bucket
	tags    uint32
	i       int
	done    bool
	result  *entry[int, int]
	// want is the entry for key when the reader started, if any; present
	// stays true while that entry stays in the table.
	want    *entry[int, int]
	present bool
	seen    map[*entry[int, int]]bool // entries for key in the table at some time of the read
	slow    int                       // steps only one writer step in slow
}

// step does one load of the lookup; it returns an error for a panic that
// the real lookup would have.
func (r *r10Reader) step(t *table[int, int]) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("lookup panicked: %v", x)
		}
	}()
	if r.done {
		return nil
	}
	if !r.started {
		r.started = true
		r.p = t.root[r.h>>(64-rootBits)].Load()
		r.shift = shift0
		if r.p == nil {
			r.done = true
		}
		return nil
	}
	if r.bucket != nil {
		want := tagOf(r.h)
		for r.i < bucketSize && tagAt(r.tags, r.i) != want {
			r.i++
		}
		if r.i == bucketSize {
			r.done = true
			return nil
		}
		q := r.bucket.slot[r.i].Load()
		r.i++
		if q != nil {
			if e := findIn[int, int](q, r.h, r.key); e != nil {
				r.result, r.done = e, true
			}
		}
		return nil
	}
	switch r.p.kind {
	case kindInner:
		r.p = asInner(r.p).child[(r.h>>r.shift)&trieMask].Load()
		r.shift -= trieBits
		if r.p == nil {
			r.done = true
		}
		return nil
	case kindBucket:
		r.bucket = asBucket(r.p)
		r.tags = r.bucket.tags.Load()
		r.i = 0
		return nil
	}
	r.result, r.done = findIn[int, int](r.p, r.h, r.key), true
	return nil
}

// r10Check walks t and checks what the node reuse relies on; in is the set
// of entries in the table (the model), shifts records the shift at which
// each inner node was ever linked.
func r10Check(t *table[int, int], in map[*entry[int, int]]bool, shifts map[*inner]int) error {
	seen := map[*tnode]bool{}
	retiredBy := map[*bucket]*inner{}
	found := map[*entry[int, int]]bool{}
	var walk func(p *tnode, shift int, prefix uint64, bits int) error
	under := func(h, prefix uint64, bits int) bool {
		return bits == 0 || h>>(64-bits) == prefix
	}
	walk = func(p *tnode, shift int, prefix uint64, bits int) error {
		if seen[p] {
			return fmt.Errorf("node %p linked twice", p)
		}
		seen[p] = true
		switch p.kind {
		case kindInner:
			n := asInner(p)
			if shift < 0 {
				return fmt.Errorf("inner node %p below the last level", n)
			}
			if s, ok := shifts[n]; ok && s != shift {
				return fmt.Errorf("inner node %p linked at shift %d, earlier at %d", n, shift, s)
			}
			shifts[n] = shift
			if r := n.retired; r != nil {
				if o := retiredBy[r]; o != nil {
					return fmt.Errorf("bucket %p retired by two inner nodes", r)
				}
				retiredBy[r] = n
				for i := range r.slot {
					q := r.slot[i].Load()
					if q == nil {
						continue
					}
					if q.kind != kindEntry {
						return fmt.Errorf("retired bucket holds a node of kind %d", q.kind)
					}
					e := asEntry[int, int](q)
					if !in[e] {
						return fmt.Errorf("retired bucket %p keeps removed entry %d", r, e.key)
					}
					if !under(e.hash(), prefix, bits) {
						return fmt.Errorf("retired bucket %p holds entry %d not below its node", r, e.key)
					}
				}
			}
			for j := range n.child {
				if q := n.child[j].Load(); q != nil {
					if err := walk(q, shift-trieBits, prefix<<trieBits|uint64(j), bits+trieBits); err != nil {
						return err
					}
				}
			}
			return nil
		case kindBucket:
			b := asBucket(p)
			tags := b.tags.Load()
			for i := range b.slot {
				q := b.slot[i].Load()
				if q == nil {
					continue
				}
				if q.kind == kindInner || q.kind == kindBucket {
					return fmt.Errorf("bucket slot holds kind %d", q.kind)
				}
				if tagAt(tags, i) != tagOf(headHash[int, int](q)) {
					return fmt.Errorf("bucket %p slot %d: tag wrong", b, i)
				}
				if err := walk(q, shift, prefix, bits); err != nil {
					return err
				}
			}
			return nil
		case kindCollision:
			for _, e := range asCollision[int, int](p).es {
				if !under(e.hash(), prefix, bits) {
					return fmt.Errorf("entry %d misplaced", e.key)
				}
				found[e] = true
			}
			return nil
		}
		e := asEntry[int, int](p)
		if !under(e.hash(), prefix, bits) {
			return fmt.Errorf("entry %d misplaced", e.key)
		}
		found[e] = true
		return nil
	}
	for i := range t.root {
		if p := t.root[i].Load(); p != nil {
			if err := walk(p, shift0, uint64(i), rootBits); err != nil {
				return err
			}
		}
	}
	for e := range in {
		if !found[e] {
			return fmt.Errorf("entry %d lost", e.key)
		}
	}
	if len(found) != len(in) {
		return fmt.Errorf("table holds %d entries, want %d", len(found), len(in))
	}
	for r := range retiredBy {
		if seen[&r.tnode] {
			return fmt.Errorf("retired bucket %p still linked", r)
		}
	}
	spare := map[*bucket]bool{}
	for _, b := range t.spare {
		if spare[b] {
			return fmt.Errorf("bucket %p twice in spare", b)
		}
		spare[b] = true
		if seen[&b.tnode] {
			return fmt.Errorf("spare bucket %p linked", b)
		}
		if retiredBy[b] != nil {
			return fmt.Errorf("spare bucket %p retired by a linked node", b)
		}
		if !b.empty() {
			return fmt.Errorf("spare bucket %p not empty", b)
		}
	}
	spareIn := map[*inner]bool{}
	for s, l := range t.spareInner {
		for _, n := range l {
			if spareIn[n] {
				return fmt.Errorf("inner node %p twice in spareInner", n)
			}
			spareIn[n] = true
			if seen[&n.tnode] {
				return fmt.Errorf("spare inner node %p linked", n)
			}
			if n.retired != nil {
				return fmt.Errorf("spare inner node %p keeps a retired bucket", n)
			}
			for j := range n.child {
				if n.child[j].Load() != nil {
					return fmt.Errorf("spare inner node %p has a child", n)
				}
			}
			if sh, ok := shifts[n]; ok && sh/trieBits != s {
				return fmt.Errorf("inner node %p of shift %d kept for shift %d", n, sh, s*trieBits)
			}
		}
	}
	return nil
}

// r10Hashes returns hashes that crowd a few root slots, share long prefixes
// and tags, and repeat (full collisions).
func r10Hashes(rng *rand.Rand, n int) []uint64 {
	hs := make([]uint64, n)
	for i := range hs {
		var h uint64
		switch rng.IntN(4) {
		case 0: // deep: differ in the last 12 bits only
			h = 0xA1B2C3D4E5F60000 | rng.Uint64N(1<<12)
		case 1: // one root slot, differ in the nibbles below it
			h = 0xA100000000000000 | rng.Uint64N(1<<8)<<48 | rng.Uint64N(4)
		case 2: // another root slot, equal tags
			h = 0x0700000000000000 | rng.Uint64N(1<<10)<<40 | 0x15
		default: // a hash taken before: a full collision
			if i > 0 {
				h = hs[rng.IntN(i)]
			} else {
				h = 0x0700000000000015
			}
		}
		hs[i] = h
	}
	return hs
}

// TestReview10ModelReadersAgainstNodeReuse is a PASSING GUARD: a table
// churned with hashes that crowd few root slots, share long prefixes and
// tags, and collide in full, against readers cut into their atomic loads
// and interleaved with the writer at every load, some paused for hundreds
// of writer steps. After every change the table is checked (r10Check);
// every reader that ends must have found the entry its key had throughout,
// if it had one, and never an entry that is not its key's or that was
// never in the table while it read; no reader may panic.
func TestReview10ModelReadersAgainstNodeReuse(t *testing.T) {
	const keys = 160
	var stats [5]int // spare buckets taken, spare inner nodes taken, prunes of a retired bucket, readers in a reused node, of which for a present key
	seeds := uint64(40)
	if raceEnabled {
		seeds = 8
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 10))
		hs := r10Hashes(rng, keys)
		var tab table[int, int]
		in := map[*entry[int, int]]bool{}
		cur := map[int]*entry[int, int]{}
		shifts := map[*inner]int{}
		var readers []*r10Reader
		target := keys / 2
		for step := range 6000 {
			if step%1500 == 0 {
				target = rng.IntN(keys)
			}
			// The writer: a delete or an insert.
			k := rng.IntN(keys)
			if e := cur[k]; e != nil {
				if len(cur) > target || rng.IntN(3) == 0 {
					retiredBefore := r10Retired(&tab)
					tab.deleteLocked(e)
					if r10Retired(&tab) < retiredBefore {
						stats[2]++
					}
					delete(in, e)
					delete(cur, k)
					for _, r := range readers {
						if r.want == e {
							r.present = false
						}
					}
				}
			} else if len(cur) < target || rng.IntN(3) == 0 {
				e := newEntry[int, int](k, hs[k])
				ns, ni := len(tab.spare), r10SpareInner(&tab)
				before := map[*tnode]bool{}
				for _, b := range tab.spare {
					before[&b.tnode] = true
				}
				for _, l := range tab.spareInner {
					for _, n := range l {
						before[&n.tnode] = true
					}
				}
				tab.insertLocked(e)
				for _, b := range tab.spare {
					delete(before, &b.tnode)
				}
				for _, l := range tab.spareInner {
					for _, n := range l {
						delete(before, &n.tnode)
					}
				}
				for _, r := range readers {
					if r.started && !r.done && (before[r.p] || r.bucket != nil && before[&r.bucket.tnode]) {
						stats[3]++
						if r.present {
							stats[4]++
						}
					}
				}
				stats[0] += ns - len(tab.spare)
				stats[1] += ni - r10SpareInner(&tab)
				in[e] = true
				cur[k] = e
				for _, r := range readers {
					if r.key == k {
						r.seen[e] = true
					}
				}
			}
			if err := r10Check(&tab, in, shifts); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			// Readers: start some, step some.
			if rng.IntN(2) == 0 {
				k := rng.IntN(keys)
				r := &r10Reader{h: hs[k], key: k, want: cur[k], present: cur[k] != nil, seen: map[*entry[int, int]]bool{}, slow: 1}
				if rng.IntN(4) == 0 {
					r.slow = 1 + rng.IntN(200)
				}
				if r.want != nil {
					r.seen[r.want] = true
				}
				readers = append(readers, r)
			}
			live := readers[:0]
			for _, r := range readers {
				n := rng.IntN(3)
				if r.slow > 1 && rng.IntN(r.slow) != 0 {
					n = 0
				}
				for range n {
					if err := r.step(&tab); err != nil {
						t.Fatalf("seed %d step %d: key %d: %v", seed, step, r.key, err)
					}
				}
				if !r.done {
					live = append(live, r)
					continue
				}
				switch {
				case r.result != nil && (r.result.key != r.key || !r.seen[r.result]):
					t.Fatalf("seed %d step %d: lookup of %d found entry %d (%p), not one it had", seed, step, r.key, r.result.key, r.result)
				case r.present && r.result != r.want:
					t.Fatalf("seed %d step %d: lookup of %d, present throughout, found %p, want %p", seed, step, r.key, r.result, r.want)
				}
			}
			readers = live
		}
	}
	t.Logf("spare buckets taken %d, spare inner nodes taken %d, prunes with retired %d, readers in a reused node %d (present %d)", stats[0], stats[1], stats[2], stats[3], stats[4])
	if stats[1] == 0 || stats[2] == 0 || stats[3] == 0 {
		t.Error("no inner node reused, no retired bucket spare, or no reader in a reused node: the test tests nothing")
	}
}

func r10SpareInner(t *table[int, int]) int {
	n := 0
	for _, l := range t.spareInner {
		n += len(l)
	}
	return n
}

func r10Retired(t *table[int, int]) int {
	n := 0
	var walk func(p *tnode)
	walk = func(p *tnode) {
		if p.kind == kindInner {
			if asInner(p).retired != nil {
				n++
			}
			for j := range asInner(p).child {
				if q := asInner(p).child[j].Load(); q != nil {
					walk(q)
				}
			}
		}
	}
	for i := range t.root {
		if p := t.root[i].Load(); p != nil {
			walk(p)
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Through the cache: removed values released, kept keys found.

// r10Crowded returns n uint64 keys of c whose hashes crowd root slot 0x5A:
// they share their top 8 bits and, in four groups, the 12 or 20 bits below,
// so that buckets split (and retire) at several depths.
func r10Crowded[V any](t *testing.T, c *KeyedCache[uint64, V], rng *rand.Rand, n int) []uint64 {
	seen := map[uint64]bool{}
	var ks []uint64
	for len(ks) < n {
		var h uint64
		switch rng.IntN(4) {
		case 0:
			h = 0x5A<<56 | rng.Uint64N(1<<56)
		case 1:
			h = 0x5A3<<52 | rng.Uint64N(1<<52)
		case 2:
			h = 0x5A3C7<<44 | rng.Uint64N(1<<10)<<34 | rng.Uint64N(4)
		default:
			h = 0x5A3C7E<<40 | rng.Uint64N(1<<8) | 0x15<<8
		}
		if !seen[h] {
			seen[h] = true
			ks = append(ks, r3KeyFor(t, c, h))
		}
	}
	return ks
}

// TestReview10RemovedValuesReleasedAmidRetiredBuckets is a PASSING GUARD: a
// removed value must be unreachable from the cache at once (retired
// buckets, spare buckets and spare inner nodes must not keep it), whatever
// removed it, in a trie where buckets split at several depths (chosen
// hashes crowd one root slot) and with full collisions (uint64 keys hashed
// by their low 32 bits): Delete, Set's replacement, the bound's eviction
// (LRU and TinyLFU), Clear. The keys that stay are checked with Peek.
func TestReview10RemovedValuesReleasedAmidRetiredBuckets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options[uint64, *blob]
		collide bool
	}{
		{"unbounded", Options[uint64, *blob]{}, false},
		{"LRU", Options[uint64, *blob]{MaxEntries: 300}, false},
		{"TinyLFU", Options[uint64, *blob]{MaxEntries: 300, Policy: TinyLFU}, false},
		{"unbounded/collisions", Options[uint64, *blob]{}, true},
		{"LRU/collisions", Options[uint64, *blob]{MaxEntries: 300}, true},
		{"TinyLFU/collisions", Options[uint64, *blob]{MaxEntries: 300, Policy: TinyLFU}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gone []weak.Pointer[blob]
			vals := map[uint64]*blob{} // what each key should hold, for Peek
			opts := tc.opts
			opts.OnEvict = func(k uint64, v *blob, _ Reason) {
				gone = append(gone, weak.Make(v))
				if vals[k] == v {
					delete(vals, k)
				}
			}
			c := newCache(t, func(_ context.Context, k uint64) (*blob, error) {
				b := new(blob)
				vals[k] = b
				return b, nil
			}, &opts)
			rng := rand.New(rand.NewPCG(10, 1))
			var ks []uint64
			if tc.collide {
				// Low words whose hashes share their top 8 or 12 bits, each
				// the key of up to three colliding keys.
				c.hasher.kind = hashHalf // only the low 32 bits count
				n := 0
				for x := uint64(0); n < 300; x++ {
					h := c.hash(x)
					if h>>56 == 0x5A && (n%2 == 0 || h>>52 == 0x5A3) {
						for j := range 1 + n%4/3*2 { // every fourth, a group of three
							ks = append(ks, x|uint64(j)<<32)
						}
						n++
					}
				}
			} else {
				ks = r10Crowded(t, c, rng, 600)
			}
			ctx := context.Background()
			maxRetired := 0
			for step := range 6000 {
				k := ks[rng.IntN(len(ks))]
				switch rng.IntN(4) {
				case 0:
					c.Delete(k)
				case 1:
					b := new(blob)
					c.Set(k, b)
					vals[k] = b
				default:
					c.Get(ctx, k)
				}
				if step%1000 == 999 {
					maxRetired = max(maxRetired, countRetired(c))
					r10Released(t, gone)
					for k, v := range vals {
						if got, ok := c.Peek(k); !ok || got != v {
							t.Fatalf("step %d: Peek(%#x) = %p, %v, want %p", step, k, got, ok, v)
						}
					}
				}
			}
			if maxRetired == 0 {
				t.Fatal("no bucket retired: the test tests nothing")
			}
			c.Clear()
			r10Released(t, gone)
			if n := r3Count(&c.tab); n != (r3Census{}) {
				t.Errorf("cleared, the table still holds %+v", n)
			}
			t.Logf("%d values removed, at most %d retired buckets", len(gone), maxRetired)
		})
	}
}

// r10Released fails t if a value in gone is still reachable.
func r10Released(t *testing.T, gone []weak.Pointer[blob]) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	for i, w := range gone {
		if w.Value() != nil {
			t.Fatalf("removed value %d of %d still reachable", i, len(gone))
		}
	}
}

// TestReview10PeekAmidNodeReuse is a PASSING GUARD: keys that stay are
// found by every lock-free Peek, Get and Acquire, with their own value,
// while keys whose hashes crowd the same root slot (and so the same
// buckets and inner nodes) come and go fast enough that buckets split,
// retire, empty, and come back elsewhere, and inner nodes are pruned and
// reused; and no lookup of a churned key returns another key's value.
func TestReview10PeekAmidNodeReuse(t *testing.T) {
	for _, bound := range []int{0, 200} {
		t.Run(fmt.Sprint("MaxEntries=", bound), func(t *testing.T) {
			c := newCache(t, func(_ context.Context, k uint64) (uint64, error) { return ^k, nil },
				&Options[uint64, uint64]{MaxEntries: bound})
			rng := rand.New(rand.NewPCG(10, 2))
			ks := r10Crowded(t, c, rng, 400)
			stay, churn := ks[:40], ks[40:]
			for _, k := range stay {
				c.Set(k, ^k)
			}
			ctx := context.Background()
			var bad atomic.Int64
			var first atomic.Value
			fail := func(format string, args ...any) {
				if bad.Add(1) == 1 {
					first.Store(fmt.Sprintf(format, args...))
				}
			}
			stop := readWhile(3, 7, func(rng *rand.Rand) {
				k := stay[rng.IntN(len(stay))]
				switch rng.IntN(3) {
				case 0:
					// At the bound, the LRU order (kept from hits that
					// overlap only roughly) may evict a key that stays.
					if v, ok := c.Peek(k); ok && v != ^k || !ok && bound == 0 {
						fail("Peek(%#x) = %#x, %v", k, v, ok)
					}
				case 1:
					if v, err := c.Get(ctx, k); err != nil || v != ^k {
						fail("Get(%#x) = %#x, %v", k, v, err)
					}
				default:
					v, release, err := c.Acquire(ctx, k)
					if err != nil || v != ^k {
						fail("Acquire(%#x) = %#x, %v", k, v, err)
					}
					release()
				}
				o := churn[rng.IntN(len(churn))]
				if v, ok := c.Peek(o); ok && v != ^o {
					fail("Peek(%#x) = %#x, another key's", o, v)
				}
			})
			deadline := time.Now().Add(1500 * time.Millisecond)
			for i := 0; time.Now().Before(deadline); i++ {
				// Fill the churned keys up, then empty them, so that
				// subtrees empty entirely and are rebuilt.
				phase := i / 2000 % 2
				k := churn[rng.IntN(len(churn))]
				if rng.IntN(4) != phase*3 {
					c.Set(k, ^k)
				} else {
					c.Delete(k)
				}
				if bound > 0 && i%64 == 0 {
					// Keep the stay keys recent, so that the bound evicts churn.
					for _, k := range stay {
						c.Get(ctx, k)
					}
				}
			}
			stop()
			if n := bad.Load(); n != 0 {
				t.Fatalf("%d bad lookups, the first: %v", n, first.Load())
			}
		})
	}
}

// r10Finish runs r to its end and returns what it found.
func r10Finish(t *testing.T, r *r10Reader, tab *table[int, int]) *entry[int, int] {
	t.Helper()
	for n := 0; !r.done; n++ {
		if err := r.step(tab); err != nil {
			t.Fatalf("lookup of %d: %v", r.key, err)
		}
		if n > 100 {
			t.Fatalf("lookup of %d does not end", r.key)
		}
	}
	return r.result
}

// TestReview10ReaderPausedInARetiredBucket is a PASSING GUARD,
// deterministic: a reader that loaded a bucket just before a split
// replaced it finds there a key that stays, however long it pauses, while
// the bucket's other keys leave and other inserts take spare buckets (the
// retired bucket must not be among them while that key stays). Once the
// key leaves too, the bucket is reused elsewhere; a reader paused in it
// then reads its new heads, and returns no head whose hash or key is not
// its own (a head with its key but another hash, one with its hash but
// another key), and does not panic.
func TestReview10ReaderPausedInARetiredBucket(t *testing.T) {
	var tab table[int, int]
	// Six hashes in root slot 0x33, apart at shift 52; keys 1 and 9 share a tag.
	hashOf := func(k int) uint64 { return 0x33<<56 | uint64(k)<<52 | uint64(k%8) }
	es := map[int]*entry[int, int]{}
	for k := range bucketSize {
		es[k] = newEntry[int, int](k, hashOf(k))
		tab.insertLocked(es[k])
	}
	b := tab.root[0x33].Load()
	if b.kind != kindBucket {
		t.Fatalf("five keys in one root slot: kind %d, want a bucket", b.kind)
	}
	stays := &r10Reader{h: hashOf(0), key: 0}
	absent := &r10Reader{h: hashOf(9)&^(0xF<<52) | 1<<52, key: 9} // hash of 1's slot, tag of 1's
	stays.step(&tab)
	absent.step(&tab)
	if stays.p != b || absent.p != b {
		t.Fatal("the readers are not in the bucket")
	}
	es[5] = newEntry[int, int](5, hashOf(5))
	tab.insertLocked(es[5]) // splits: b retires
	n := asInner(tab.root[0x33].Load())
	if n.tnode.kind != kindInner || n.retired != asBucket(b) {
		t.Fatal("the sixth key did not split the bucket and retire it")
	}
	for k := 1; k <= bucketSize; k++ {
		tab.deleteLocked(es[k])
	}
	// Churn elsewhere: buckets empty and come back.
	for round := range 50 {
		var tmp []*entry[int, int]
		for i := range 7 {
			e := newEntry[int, int](1000+i, uint64(0x40+round%4)<<56|uint64(i)<<48|uint64(i))
			tab.insertLocked(e)
			tmp = append(tmp, e)
		}
		for _, e := range tmp {
			tab.deleteLocked(e)
		}
		if slices.Contains(tab.spare, asBucket(b)) {
			t.Fatalf("round %d: the retired bucket is spare while key 0, which it holds, stays", round)
		}
	}
	if got := r10Finish(t, stays, &tab); got != es[0] {
		t.Fatalf("a reader paused in the retired bucket found %p for key 0, which stayed; want %p", got, es[0])
	}
	// Key 0 leaves: the retired bucket is spare, then reused in root slot
	// 0x44 for a head with key 9 but another hash, and one with the
	// absent reader's hash but another key.
	tab.deleteLocked(es[0])
	if tab.root[0x33].Load() != nil {
		t.Fatal("the last delete did not prune the inner node")
	}
	if !slices.Contains(tab.spare, asBucket(b)) {
		t.Fatal("the retired bucket did not come back as a spare")
	}
	tab.spare = append(slices.DeleteFunc(tab.spare, func(x *bucket) bool { return x == asBucket(b) }), asBucket(b)) // on top
	other := newEntry[int, int](9, 0x44<<56|1)
	sameHash := newEntry[int, int](10, absent.h)
	tab.insertLocked(other)
	tab.insertLocked(newEntry[int, int](11, 0x44<<56|2))
	if tab.root[0x44].Load() != b {
		t.Fatal("the retired bucket was not reused in root slot 0x44")
	}
	asBucket(b).setTag(0, absent.h) // the absent reader's tag on every head
	asBucket(b).setTag(1, absent.h)
	asBucket(b).slot[1].Store(&sameHash.tnode)
	if asBucket(b).slot[0].Load() != &other.tnode {
		t.Fatal("key 9's other head is not in slot 0 of the reused bucket")
	}
	if got := r10Finish(t, absent, &tab); got != nil {
		t.Fatalf("a reader paused in a reused bucket found entry %d (hash %#x) for key 9 (hash %#x)", got.key, got.hash(), absent.h)
	}
}

// TestReview10ReusedInnerNodeStartsClean is a PASSING GUARD,
// deterministic: an inner node that a split made from a bucket of entries
// (so that it keeps that bucket as retired) is pruned, and reused at its
// shift in another root slot by a split of a bucket that holds a collision
// node (which retires nothing): it must come back with no retired bucket,
// or its deletes would empty slots of a bucket that is in use again. A
// reader paused in it walks on at the right shift and finds nothing that
// is not its own; every key stays found as the new subtree is deleted.
func TestReview10ReusedInnerNodeStartsClean(t *testing.T) {
	var tab table[int, int]
	in := map[*entry[int, int]]bool{}
	shifts := map[*inner]int{}
	insert := func(k int, h uint64) *entry[int, int] {
		e := newEntry[int, int](k, h)
		tab.insertLocked(e)
		in[e] = true
		if err := r10Check(&tab, in, shifts); err != nil {
			t.Fatalf("insert %d: %v", k, err)
		}
		return e
	}
	del := func(e *entry[int, int]) {
		tab.deleteLocked(e)
		delete(in, e)
		if err := r10Check(&tab, in, shifts); err != nil {
			t.Fatalf("delete %d: %v", e.key, err)
		}
	}
	var first []*entry[int, int]
	for k := range bucketSize + 1 {
		first = append(first, insert(k, 0x10<<56|uint64(k)<<52|uint64(k)))
	}
	n := asInner(tab.root[0x10].Load())
	retired := n.retired
	if n.tnode.kind != kindInner || retired == nil {
		t.Fatal("six entries in root slot 0x10 made no inner node with a retired bucket")
	}
	r := &r10Reader{h: 0x10<<56 | 2<<52 | 0x2A, key: 100}
	r.step(&tab)
	if r.p != &n.tnode {
		t.Fatal("the reader is not in the inner node")
	}
	for _, e := range first {
		del(e)
	}
	if !slices.Contains(tab.spareInner[shift0/trieBits], n) || !slices.Contains(tab.spare, retired) {
		t.Fatal("the inner node and its retired bucket are not spare")
	}
	// Root slot 0x20: four entries and a collision node, then a sixth head.
	var second []*entry[int, int]
	for k := range 4 {
		second = append(second, insert(200+k, 0x20<<56|uint64(k)<<52|2<<48|uint64(k)))
	}
	second = append(second, insert(204, 0x20<<56|2<<52|0x2A))
	second = append(second, insert(205, 0x20<<56|2<<52|0x2A)) // collides with 204
	second = append(second, insert(206, 0x20<<56|2<<52|1<<48|0x2A))
	if tab.root[0x20].Load() != &n.tnode {
		t.Fatal("the split in root slot 0x20 did not reuse the inner node")
	}
	if n.retired != nil {
		t.Fatal("the reused inner node keeps a retired bucket")
	}
	if got := r10Finish(t, r, &tab); got != nil {
		t.Fatalf("the paused reader found entry %d for key %d", got.key, r.key)
	}
	for i, e := range second {
		del(e)
		for _, o := range second[i+1:] {
			if tab.lookup(o.hash(), o.key) != o {
				t.Fatalf("after deleting %d, key %d is lost", e.key, o.key)
			}
		}
	}
}
