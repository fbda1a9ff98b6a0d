package keyedcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"weak"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// ---------------------------------------------------------------------------
// Helpers: keys with chosen hashes, and a census of the table's nodes.

// r3Inverse returns the inverse of the odd a modulo 2^64.
func r3Inverse(a uint64) uint64 {
	x := a
	for range 6 {
		x *= 2 - a*x
	}
	return x
}

// r3Unmix inverts mix (SplitMix64's finaliser).
func r3Unmix(x uint64) uint64 {
	x ^= x>>31 ^ x>>62
	x *= r3Inverse(0x94D049BB133111EB)
	x ^= x>>27 ^ x>>54
	x *= r3Inverse(0xBF58476D1CE4E5B9)
	x ^= x>>30 ^ x>>60
	return x
}

// r3KeyFor returns the uint64 key whose hash in c is h.
func r3KeyFor[V any](t testing.TB, c *KeyedCache[uint64, V], h uint64) uint64 {
	t.Helper()
	if c.hasher.kind != hashWord {
		t.Fatalf("uint64 keys do not take the word path")
	}
	k := r3Unmix(h) ^ c.hasher.seed64
	if got := c.hash(k); got != h {
		t.Fatalf("hash of the key chosen for %#x is %#x", h, got)
	}
	return k
}

// r3Census counts the table's nodes by kind, and the entries it holds.
type r3Census struct {
	inner, bucket, collision, entries int
}

func r3Count[K comparable, V any](t *table[K, V]) r3Census {
	var n r3Census
	var walk func(p *tnode)
	walk = func(p *tnode) {
		switch p.kind {
		case kindInner:
			n.inner++
			for i := range asInner(p).child {
				if q := asInner(p).child[i].Load(); q != nil {
					walk(q)
				}
			}
		case kindBucket:
			n.bucket++
			for i := range asBucket(p).slot {
				if q := asBucket(p).slot[i].Load(); q != nil {
					walk(q)
				}
			}
		case kindCollision:
			n.collision++
			n.entries += len(asCollision[K, V](p).es)
		default:
			n.entries++
		}
	}
	for i := range t.root {
		if p := t.root[i].Load(); p != nil {
			walk(p)
		}
	}
	return n
}

// r3Hashes returns hashes that crowd the table: long shared prefixes (splits
// down to the last level), equal tags (equal low six bits) and one root
// slot.
func r3Hashes() []uint64 {
	var hs []uint64
	const p = 0xC3A5C85C97CB3127 &^ 0xFF
	for i := range uint64(16) {
		hs = append(hs, p|i) // differ only in the last nibble: shift 0
	}
	for i := range uint64(16) {
		hs = append(hs, p|i<<4|0x5) // differ in the nibble above, one tag... almost
	}
	for i := range uint64(24) {
		hs = append(hs, 0xC300000000000000|i<<40|0x2A) // equal tags, one root slot
	}
	for i := range uint64(8) {
		hs = append(hs, 0xC3A5C85C97CB0000|i<<8|0x2A) // equal tags, deep
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// ---------------------------------------------------------------------------
// The table through the cache, with chosen hashes.

// TestReview3ChosenHashesUnderChurn drives a real cache with uint64 keys
// whose hashes are chosen (the word path's mixer is a bijection, so a key
// can be found for any hash): keys that stay present must always hit,
// lock-free, with their own value, while keys with crowding hashes come and
// go (inserts that split buckets down to the last level, deletes that
// prune); once every key is gone the table holds no node.
func TestReview3ChosenHashesUnderChurn(t *testing.T) {
	for _, procs := range []int{1, 2, 8} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			r3ChosenHashes(t)
		})
	}
}

func r3ChosenHashes(t *testing.T) {
	var loads sync.Map // key -> *atomic.Int64
	c := newCache(t, func(_ context.Context, k uint64) (uint64, error) {
		n, _ := loads.LoadOrStore(k, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return ^k, nil
	}, nil)
	hs := r3Hashes()
	keys := make([]uint64, len(hs))
	for i, h := range hs {
		keys[i] = r3KeyFor(t, c, h)
	}
	ctx := context.Background()
	var stable []uint64 // every third key stays
	for i, k := range keys {
		if i%3 == 0 {
			stable = append(stable, k)
			if v, err := c.Get(ctx, k); err != nil || v != ^k {
				t.Fatalf("Get(%#x) = %#x, %v", k, v, err)
			}
		}
	}
	var bad atomic.Int64
	var report sync.Once
	stop := readWhile(4, 7, func(rng *rand.Rand) {
		k := stable[rng.IntN(len(stable))]
		if v, ok := c.Peek(k); !ok || v != ^k {
			bad.Add(1)
			report.Do(func() { t.Errorf("Peek of stable key %#x = %#x, %v", k, v, ok) })
		}
		if v, err := c.Get(ctx, k); err != nil || v != ^k {
			bad.Add(1)
			report.Do(func() { t.Errorf("Get of stable key %#x = %#x, %v", k, v, err) })
		}
		// Any key: absent, or its own value.
		o := keys[rng.IntN(len(keys))]
		if v, ok := c.Peek(o); ok && v != ^o && v != o {
			bad.Add(1)
			report.Do(func() { t.Errorf("Peek(%#x) = %#x, another key's value", o, v) })
		}
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		i := rng.IntN(len(keys))
		if i%3 == 0 {
			continue
		}
		k := keys[i]
		switch rng.IntN(3) {
		case 0:
			c.Delete(k)
		case 1:
			if err := c.Set(k, k); err != nil { // Set stores k itself, a load ^k
				t.Fatal(err)
			}
		default:
			if _, err := c.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop()
	for _, k := range stable {
		n, _ := loads.Load(k)
		if got := n.(*atomic.Int64).Load(); got != 1 {
			t.Errorf("stable key %#x loaded %d times, want 1: a Get missed it", k, got)
		}
	}
	for _, k := range keys {
		c.Delete(k)
	}
	if n := r3Count(&c.tab); n != (r3Census{}) {
		t.Errorf("every key deleted, the table still holds %+v", n)
	}
}

// TestReview3FullCollisionsThroughTheCache makes keys collide in all 64 bits
// of their hash by hashing uint64 keys by their low 32 bits only (the path
// for uint32 keys): keys i and i|j<<32 then share a collision node. Keys
// that stay must always be found while their partners come and go, and no
// lookup may return another key's value.
func TestReview3FullCollisionsThroughTheCache(t *testing.T) {
	for _, policy := range []Policy{LRU, TinyLFU} {
		t.Run(policy.String(), func(t *testing.T) {
			var loads atomic.Int64
			c := newCache(t, func(_ context.Context, k uint64) (uint64, error) {
				loads.Add(1)
				return ^k, nil
			}, &Options[uint64, uint64]{MaxEntries: 1000, Policy: policy})
			c.hasher.kind = hashHalf // only the low 32 bits count
			key := func(i, j int) uint64 { return uint64(i) | uint64(j)<<32 }
			if c.hash(key(3, 1)) != c.hash(key(3, 2)) {
				t.Fatal("no collision")
			}
			ctx := context.Background()
			const groups, per = 8, 6
			for i := range groups {
				c.Get(ctx, key(i, 0)) // j == 0 stays
			}
			var bad atomic.Int64
			stop := readWhile(4, 3, func(rng *rand.Rand) {
				k := key(rng.IntN(groups), 0)
				if v, ok := c.Peek(k); !ok || v != ^k {
					bad.Add(1)
				}
				o := key(rng.IntN(groups), rng.IntN(per))
				if v, ok := c.Peek(o); ok && v != ^o && v != o {
					bad.Add(1)
				}
			})
			rng := rand.New(rand.NewPCG(5, 6))
			for range 20000 {
				k := key(rng.IntN(groups), 1+rng.IntN(per-1))
				switch rng.IntN(3) {
				case 0:
					c.Delete(k)
				case 1:
					c.Set(k, k)
				default:
					c.Get(ctx, k)
				}
			}
			stop()
			if n := bad.Load(); n != 0 {
				t.Errorf("%d lookups missed a key that stayed or returned another key's value", n)
			}
			r2Check(t, c)
			for i := range groups {
				for j := range per {
					c.Delete(key(i, j))
				}
			}
			if n := r3Count(&c.tab); n != (r3Census{}) {
				t.Errorf("every key deleted, the table still holds %+v", n)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// The table alone: the deepest levels.

// TestReview3DeepestLevels fills a bucket at the last level of the trie
// (hashes equal but for their last nibble), and collisions there, in every
// order of insertion and deletion, checking the table against a map after
// each change and that nothing is left at the end.
func TestReview3DeepestLevels(t *testing.T) {
	const p = 0x0123456789ABCDE0
	hashOf := func(k int) uint64 {
		if k >= 16 {
			return p | uint64(k%16) // a full collision with k%16
		}
		return p | uint64(k)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 300 {
		var tab table[int, int]
		present := map[int]*entry[int, int]{}
		order := rng.Perm(32)
		for _, k := range order {
			e := newEntry[int, int](k, hashOf(k))
			tab.insertLocked(e)
			present[k] = e
			for k2 := range 32 {
				got := tab.lookup(hashOf(k2), k2)
				if want := present[k2]; got != want {
					t.Fatalf("round %d: after inserting %d, lookup(%d) = %p, want %p", round, k, k2, got, want)
				}
			}
		}
		for _, k := range rng.Perm(32) {
			tab.deleteLocked(present[k])
			delete(present, k)
			for k2 := range 32 {
				got := tab.lookup(hashOf(k2), k2)
				if want := present[k2]; got != want {
					t.Fatalf("round %d: after deleting %d, lookup(%d) = %p, want %p", round, k, k2, got, want)
				}
			}
		}
		if n := r3Count(&tab); n != (r3Census{}) {
			t.Fatalf("round %d: empty table holds %+v", round, n)
		}
	}
}

// ---------------------------------------------------------------------------
// LRU order: a textbook model.

// TestReview3LRUModel replays random Get, Peek, Set, Delete and Acquire
// calls, from one goroutine, on a bounded LRU cache whose keys crowd the
// table (chosen hashes), and compares Keys, values and OnEvict calls with a
// textbook LRU after each call.
func TestReview3LRUModel(t *testing.T) {
	const max = 7
	type ev struct {
		k, v uint64
		r    Reason
	}
	var got []ev
	c := newCache(t, func(_ context.Context, k uint64) (uint64, error) { return ^k, nil },
		&Options[uint64, uint64]{MaxEntries: max, OnEvict: func(k, v uint64, r Reason) { got = append(got, ev{k, v, r}) }})
	hs := r3Hashes()[:20]
	keys := make([]uint64, len(hs))
	for i, h := range hs {
		keys[i] = r3KeyFor(t, c, h)
	}
	var order []uint64 // least recently used first
	vals := map[uint64]uint64{}
	var want []ev
	touch := func(k uint64) {
		order = slices.DeleteFunc(order, func(x uint64) bool { return x == k })
		order = append(order, k)
	}
	store := func(k, v uint64) {
		if old, ok := vals[k]; ok {
			want = append(want, ev{k, old, Replaced})
			order = slices.DeleteFunc(order, func(x uint64) bool { return x == k })
		} else if len(order) == max {
			want = append(want, ev{order[0], vals[order[0]], Evicted})
			delete(vals, order[0])
			order = order[1:]
		}
		vals[k] = v
		order = append(order, k)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(21, 22))
	for step := range 5000 {
		k := keys[rng.IntN(len(keys))]
		var op string
		switch rng.IntN(5) {
		case 0:
			op = "Get"
			v, _ := c.Get(ctx, k)
			if _, ok := vals[k]; ok {
				touch(k)
			} else {
				store(k, ^k)
			}
			if v != vals[k] {
				t.Fatalf("step %d: Get(%#x) = %#x, want %#x", step, k, v, vals[k])
			}
		case 1:
			op = "Peek"
			v, ok := c.Peek(k)
			if w, wok := vals[k]; ok != wok || v != w {
				t.Fatalf("step %d: Peek(%#x) = %#x, %v; want %#x, %v", step, k, v, ok, w, wok)
			}
		case 2:
			op = "Set"
			v := rng.Uint64()
			c.Set(k, v)
			store(k, v)
		case 3:
			op = "Delete"
			found := c.Delete(k)
			_, wok := vals[k]
			if found != wok {
				t.Fatalf("step %d: Delete(%#x) = %v, want %v", step, k, found, wok)
			}
			if wok {
				want = append(want, ev{k, vals[k], Deleted})
				delete(vals, k)
				order = slices.DeleteFunc(order, func(x uint64) bool { return x == k })
			}
		default:
			op = "Acquire"
			v, release, _ := c.Acquire(ctx, k)
			if _, ok := vals[k]; ok {
				touch(k)
			} else {
				store(k, ^k)
			}
			release()
			if v != vals[k] {
				t.Fatalf("step %d: Acquire(%#x) = %#x, want %#x", step, k, v, vals[k])
			}
		}
		if ks := c.Keys(); !slices.Equal(ks, order) {
			t.Fatalf("step %d (%s %#x): Keys = %#x, want %#x", step, op, k, ks, order)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d (%s %#x): OnEvict calls %v, want %v", step, op, k, got, want)
		}
	}
	c.Clear()
	if n := r3Count(&c.tab); n != (r3Census{}) {
		t.Errorf("after Clear the table holds %+v", n)
	}
}

// ---------------------------------------------------------------------------
// TinyLFU under concurrent churn.

// TestReview3TinyLFUConsistent churns a TinyLFU cache from several
// goroutines (hits, misses, Sets, Deletes, all with colliding hashes), then
// checks its structures: every key listed once, as many as Len, within the
// bound, each with its own value, and one OnEvict per value that left.
func TestReview3TinyLFUConsistent(t *testing.T) {
	for _, procs := range []int{1, 2, 8} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			c := newCache(t, func(_ context.Context, k uint64) (uint64, error) {
				return ^k, nil
			}, &Options[uint64, uint64]{MaxEntries: 200, Policy: TinyLFU, OnEvict: func(k, v uint64, r Reason) {
				if v != ^k && v != k {
					t.Errorf("OnEvict(%#x, %#x): another key's value", k, v)
				}
			}})
			c.hasher.kind = hashHalf // keys i and i|j<<32 collide
			ctx := context.Background()
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 99))
					for range 5000 {
						k := uint64(rng.IntN(300)) | uint64(rng.IntN(3))<<32
						if rng.IntN(4) == 0 {
							k = uint64(rng.IntN(20)) // hot
						}
						switch rng.IntN(10) {
						case 0:
							c.Delete(k)
						case 1:
							c.Set(k, k)
						default:
							c.Get(ctx, k)
						}
					}
				}()
			}
			wg.Wait()
			ks := c.Keys()
			if len(ks) != c.Len() || len(ks) > 200 {
				t.Errorf("Keys lists %d keys, Len %d, bound 200", len(ks), c.Len())
			}
			seen := map[uint64]bool{}
			for _, k := range ks {
				if seen[k] {
					t.Errorf("Keys lists %#x twice", k)
				}
				seen[k] = true
				if v, ok := c.Peek(k); !ok || (v != ^k && v != k) {
					t.Errorf("Peek(%#x) = %#x, %v", k, v, ok)
				}
			}
			if c.tiny.Len() != len(ks) {
				t.Errorf("policy holds %d nodes, Keys %d", c.tiny.Len(), len(ks))
			}
			r2Check(t, c)
			c.Clear()
			if c.Len() != 0 || c.tiny.Len() != 0 {
				t.Errorf("after Clear: Len %d, policy %d", c.Len(), c.tiny.Len())
			}
			if n := r3Count(&c.tab); n != (r3Census{}) {
				t.Errorf("after Clear the table holds %+v", n)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Memory.

// TestReview3CollisionPartnersReleased deletes keys that sat in collision
// nodes and buckets, while others stay: no copy-on-write node, bucket or
// array may keep the deleted values reachable.
func TestReview3CollisionPartnersReleased(t *testing.T) {
	type box struct {
		k uint64
		_ [48]byte
	}
	ws := map[uint64]weak.Pointer[box]{}
	var mu sync.Mutex
	c := newCache(t, func(_ context.Context, k uint64) (*box, error) {
		b := &box{k: k}
		mu.Lock()
		ws[k] = weak.Make(b)
		mu.Unlock()
		return b, nil
	}, &Options[uint64, *box]{MaxEntries: 1000})
	c.hasher.kind = hashHalf
	ctx := context.Background()
	key := func(i, j int) uint64 { return uint64(i) | uint64(j)<<32 }
	for i := range 40 {
		for j := range 5 {
			c.Get(ctx, key(i, j))
		}
	}
	for i := range 40 {
		for j := 1; j < 5; j++ {
			c.Delete(key(i, j))
		}
	}
	runtime.GC()
	runtime.GC()
	for i := range 40 {
		for j := 1; j < 5; j++ {
			if ws[key(i, j)].Value() != nil {
				t.Errorf("deleted value of %#x still reachable", key(i, j))
			}
		}
		if v, ok := c.Peek(key(i, 0)); !ok || v.k != key(i, 0) {
			t.Errorf("Peek(%#x) = %v, %v", key(i, 0), v, ok)
		}
	}
	if n := r3Count(&c.tab); n.collision != 0 || n.entries != 40 {
		t.Errorf("40 keys left, no collision among them: the table holds %+v", n)
	}
}

// TestReview3TinyLFUModel replays random calls from one goroutine on a
// TinyLFU cache and, beside it, on a bare tinylfu.Policy driven as the
// cache's contract says (a hit accesses, a miss or Set adds, a replaced or
// deleted value leaves): the cache's Keys must list the policy's nodes in
// its order, and every value the policy evicts must leave the cache with
// OnEvict(Evicted).
func TestReview3TinyLFUModel(t *testing.T) {
	for _, max := range []int{1, 2, 3, 10, 200} {
		t.Run(fmt.Sprint("MaxEntries=", max), func(t *testing.T) {
			var evicted []uint64
			c := newCache(t, func(_ context.Context, k uint64) (uint64, error) { return ^k, nil },
				&Options[uint64, uint64]{MaxEntries: max, Policy: TinyLFU, OnEvict: func(k, _ uint64, r Reason) {
					if r == Evicted {
						evicted = append(evicted, k)
					}
				}})
			model := tinylfu.New(max)
			nodes := map[uint64]*tinylfu.Node{}
			keyOf := map[*tinylfu.Node]uint64{}
			var wantEvicted []uint64
			add := func(k uint64) {
				n := &tinylfu.Node{Hash: c.hash(k)}
				nodes[k], keyOf[n] = n, k
				if v := model.Add(n); v != nil {
					wantEvicted = append(wantEvicted, keyOf[v])
					delete(nodes, keyOf[v])
					delete(keyOf, v)
				}
			}
			remove := func(k uint64) {
				if n := nodes[k]; n != nil {
					model.Remove(n)
					delete(nodes, k)
					delete(keyOf, n)
				}
			}
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(uint64(max), 5))
			universe := 3*max + 5
			for step := range 5000 {
				k := uint64(rng.IntN(universe))
				if rng.IntN(3) == 0 {
					k = uint64(rng.IntN(max + 1)) // hotter keys
				}
				switch op := rng.IntN(10); {
				case op < 7:
					c.Get(ctx, k)
					if n := nodes[k]; n != nil {
						model.Access(n)
					} else {
						add(k)
					}
				case op < 8:
					c.Set(k, k)
					remove(k)
					add(k)
				default:
					c.Delete(k)
					remove(k)
				}
				var want []uint64
				model.Ascend(func(n *tinylfu.Node) bool { want = append(want, keyOf[n]); return true })
				if got := c.Keys(); !slices.Equal(got, want) {
					t.Fatalf("step %d: Keys = %v, the policy's order %v", step, got, want)
				}
				if !slices.Equal(evicted, wantEvicted) {
					t.Fatalf("step %d: evicted %v, the policy evicted %v", step, evicted, wantEvicted)
				}
			}
		})
	}
}

// TestReview3ReaderPausedInOldNodes pins, without relying on a race to
// strike, what a lock-free reader needs from the nodes it holds: a reader
// that loaded a bucket just before the sixth head split it, or a collision
// node just before a delete replaced it, must still find every entry that
// node held and that stays in the table. (A stress test seldom catches a
// reader in that window.)
func TestReview3ReaderPausedInOldNodes(t *testing.T) {
	// The rest of lookup's walk, from a node already loaded.
	from := func(p *tnode, h uint64, key int) *entry[int, int] {
		if p.kind == kindBucket {
			b := asBucket(p)
			for i := range bucketSize {
				if b.tags.Load()>>(tagBits*i)&tagMask == tagOf(h) {
					if q := b.slot[i].Load(); q != nil {
						if e := findIn[int, int](q, h, key); e != nil {
							return e
						}
					}
				}
			}
			return nil
		}
		return findIn[int, int](p, h, key)
	}
	hashOf := func(k int) uint64 { return 0x7700000000000000 | uint64(k)<<20 | uint64(k%3) }
	var tab table[int, int]
	es := map[int]*entry[int, int]{}
	for k := range bucketSize {
		es[k] = newEntry[int, int](k, hashOf(k))
		tab.insertLocked(es[k])
	}
	old := tab.root[0x77].Load()
	if old.kind != kindBucket {
		t.Fatalf("five heads in a root slot: kind %d, want a bucket", old.kind)
	}
	es[bucketSize] = newEntry[int, int](bucketSize, hashOf(bucketSize))
	tab.insertLocked(es[bucketSize]) // splits
	if tab.root[0x77].Load().kind != kindInner {
		t.Fatal("a sixth head did not split the bucket")
	}
	for k := range bucketSize {
		if got := from(old, hashOf(k), k); got != es[k] {
			t.Errorf("a reader in the bucket that split lost key %d", k)
		}
	}

	// Collisions: four keys with one hash; a reader holds the node.
	var ct table[int, int]
	h := uint64(0x1234567890ABCDEF)
	for k := range 4 {
		es[k] = newEntry[int, int](k, h)
		ct.insertLocked(es[k])
	}
	held := ct.root[h>>56].Load()
	ct.deleteLocked(es[1])
	ct.insertLocked(newEntry[int, int](9, h))
	for _, k := range []int{0, 2, 3} {
		if got := from(held, h, k); got != es[k] {
			t.Errorf("a reader holding the collision node lost key %d after a delete", k)
		}
	}
	// The deleted key, looked up in the held node: the old entry or
	// nothing, and every slot of the node still an entry.
	if got := from(held, h, 1); got != nil && got != es[1] {
		t.Errorf("a reader holding the collision node found %p for deleted key 1", got)
	}
	if ct.lookup(h, 1) != nil {
		t.Error("deleted key 1 still found")
	}
}

// readWhile starts n goroutines that call read, each with a generator of
// its own seeded from seed, until the function it returns is called; that
// function waits for them to end.
func readWhile(n int, seed uint64, read func(rng *rand.Rand)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), seed))
			for {
				select {
				case <-done:
					return
				default:
				}
				read(rng)
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
