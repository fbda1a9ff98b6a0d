package keyedcache

import (
	"slices"
	"sync/atomic"
	"unsafe"
)

// The table maps keys to entries. It is a hash trie, the structure of Go
// 1.24's sync.Map (internal/sync.HashTrieMap), simplified by the cache's
// single writer and given small buckets at its leaves: every change is made
// under the cache's mu, while Gets read it without a lock, through atomic
// pointers.
//
// The root has 256 children, indexed by the top 8 bits of the key's hash;
// an inner node has 16, indexed by the next 4 bits, and so on down. A child
// is nil, an inner node, a bucket, or a head: an entry, or a collision node
// that lists entries whose hashes are equal (which needs a full 64-bit
// collision, and is rarer still as the hash is seeded). A bucket holds up
// to five heads whose hashes differ, each with a 6-bit tag from its hash,
// so that a lookup dereferences only the heads whose tag matches; a sixth
// head splits it into an inner node. A collision node is never changed once
// published: a change publishes a new one. Buckets keep the
// table small: about 20 bytes per entry rather than the 50 that inner
// nodes alone take, because the slots of the deepest inner nodes are
// mostly empty.
//
// Inserting never copies more than the nodes on one path, and there is no
// resize: no single insert does work that grows with the number of
// entries. A removed entry is unlinked at once, so the table holds no
// reference to it; a bucket or inner node left empty is unlinked too, and
// kept for the next insert to reuse (see spare). A split builds the new
// nodes aside and publishes them with one store: a reader still in the old
// bucket finds every entry it held, and the old bucket gains no entry
// again until every key it held has left (inner.retired).

const (
	trieBits   = 4
	trieFanout = 1 << trieBits
	trieMask   = trieFanout - 1

	bucketSize = 5 // a bucket is 48 bytes: a size class of the allocator
	tagBits    = 6
	tagMask    = 1<<tagBits - 1
)

// The kinds of trie node. The zero value is an entry's.
const (
	kindEntry uint8 = iota
	kindInner
	kindBucket
	kindCollision
)

// A tnode heads every kind of trie node; kind tells which one it is. An
// entry begins with a tnode, so a *tnode can be converted back to it. kind
// never changes once the node is published.
type tnode struct {
	kind uint8
}

// An inner node of the trie.
type inner struct {
	tnode
	rtags uint32 // retired's tags: a delete reads retired only if one matches
	// retired is the bucket this node replaced when a split made it, if
	// that bucket held entries only (no collision node), else nil. Readers
	// may still be in it, and find there every key it held; deleteLocked
	// empties its slot of each of them as they leave, so that it keeps no
	// removed entry, and once this node is pruned, every key it held has
	// left, and it is reused (see table.spare). Only the writer reads it.
	retired *bucket
	child   [trieFanout]atomic.Pointer[tnode]
}

// A bucket of the trie: up to bucketSize heads, slot i with the tag of its
// hash in bits tagBits*i of tags. A nil slot is free; its tag means
// nothing.
type bucket struct {
	tnode
	tags atomic.Uint32
	slot [bucketSize]atomic.Pointer[tnode]
}

// A collision node of the trie: two or more entries whose hashes are equal.
// Its list never changes once it is published.
type collision[K comparable, V any] struct {
	tnode
	es []*entry[K, V]
}

// table is embedded in KeyedCache. Its root is wider than the inner nodes
// (256 slots, 2 KiB), which takes a level off every walk of a table of a few
// thousand entries.
type table[K comparable, V any] struct {
	root [1 << rootBits]atomic.Pointer[tnode]
	// spare holds buckets that deletes emptied and unlinked, for inserts to
	// reuse: a cache at its bound deletes one entry and inserts one on
	// every miss, and would otherwise allocate a bucket on about one miss
	// in five. A reader may still be in such a bucket, or enter it after
	// its reuse; that is safe because every field of a bucket is atomic,
	// a reader checks each head's hash and key, and a bucket is emptied
	// only by deleting every key it held: no key present throughout a
	// lookup can be in it. A bucket that a split replaced is not reused
	// while readers may need what it holds: it waits in the inner node
	// that replaced it (inner.retired) until every key it held has left.
	//
	// An inner node that deletes emptied is kept too, in spareInner, by the
	// shift that picks its children, and reused only at that shift. lookup
	// counts the levels it crosses to know which bits of the hash pick a
	// child, so a reader paused in an inner node that came back at another
	// depth would walk the wrong bits, and past the last level (review7).
	// At the same shift, a reader paused in it walks on with the right
	// bits, and the argument for buckets holds: an inner node is unlinked
	// only once every key below it has left, so no key present throughout
	// a lookup can be below it.
	spare      []*bucket
	spareInner [shift0/trieBits + 1][]*inner
}

// maxSpare is how many emptied buckets the table keeps for reuse (3 KiB):
// enough to absorb how the number of buckets in use wanders in a cache at
// its bound. maxSpareInner is how many emptied inner nodes of each depth
// it keeps.
const (
	maxSpare      = 64
	maxSpareInner = 16
)

// newBucketLocked returns an empty bucket, a spare one if there is one.
func (t *table[K, V]) newBucketLocked() *bucket {
	if b := popSpare(&t.spare); b != nil {
		return b
	}
	return &bucket{tnode: tnode{kindBucket}}
}

// newInnerLocked returns an empty inner node whose children shift picks, a
// spare one if there is one.
func (t *table[K, V]) newInnerLocked(shift int) *inner {
	if in := popSpare(&t.spareInner[shift/trieBits]); in != nil {
		return in
	}
	return &inner{tnode: tnode{kindInner}}
}

// popSpare takes the last node off *spare, or returns nil if it is empty.
func popSpare[T any](spare *[]*T) *T {
	n := len(*spare)
	if n == 0 {
		return nil
	}
	x := (*spare)[n-1]
	(*spare)[n-1] = nil
	*spare = (*spare)[:n-1]
	return x
}

// keepSpare adds x, an emptied node, to *spare, unless it holds limit already.
func keepSpare[T any](spare *[]*T, x *T, limit int) {
	if len(*spare) < limit {
		*spare = append(*spare, x)
	}
}

const (
	rootBits = 8
	// shift0 is the shift that picks a child of an inner node just below
	// the root.
	shift0 = 64 - rootBits - trieBits
)

func asEntry[K comparable, V any](n *tnode) *entry[K, V] {
	return (*entry[K, V])(unsafe.Pointer(n))
}

func asInner(n *tnode) *inner {
	return (*inner)(unsafe.Pointer(n))
}

func asBucket(n *tnode) *bucket {
	return (*bucket)(unsafe.Pointer(n))
}

func tagOf(h uint64) uint32 { return uint32(h) & tagMask }

// tagAt returns the tag of slot i in tags, a bucket's tags word.
func tagAt(tags uint32, i int) uint32 { return tags >> (tagBits * i) & tagMask }

// hasTag reports whether one of the bucketSize tags in tags is h's.
func hasTag(tags uint32, h uint64) bool {
	want := tagOf(h)
	for i := range bucketSize {
		if tagAt(tags, i) == want {
			return true
		}
	}
	return false
}

// setTag records in b that slot i holds a head whose hash is h.
func (b *bucket) setTag(i int, h uint64) {
	t := b.tags.Load() &^ (tagMask << (tagBits * i))
	b.tags.Store(t | tagOf(h)<<(tagBits*i))
}

func asCollision[K comparable, V any](n *tnode) *collision[K, V] {
	return (*collision[K, V])(unsafe.Pointer(n))
}

// headHash returns the hash of the entries of head, an entry or a collision
// node.
func headHash[K comparable, V any](head *tnode) uint64 {
	if head.kind == kindCollision {
		return asCollision[K, V](head).es[0].hash()
	}
	return asEntry[K, V](head).hash()
}

// findIn returns the entry for key in head, an entry or a collision node
// whose hash is h, or nil.
func findIn[K comparable, V any](head *tnode, h uint64, key K) *entry[K, V] {
	if head.kind == kindCollision {
		for _, e := range asCollision[K, V](head).es {
			if e.key == key {
				return e
			}
		}
		return nil
	}
	if e := asEntry[K, V](head); e.hash() == h && e.key == key {
		return e
	}
	return nil
}

// lookup returns the entry for key, whose hash is h, in any state, or nil.
// It takes no lock.
func (t *table[K, V]) lookup(h uint64, key K) *entry[K, V] {
	p := t.root[h>>(64-rootBits)].Load()
	for shift := shift0; p != nil; shift -= trieBits {
		switch p.kind {
		case kindInner:
			p = asInner(p).child[(h>>shift)&trieMask].Load()
			continue
		case kindBucket:
			b := asBucket(p)
			tags, want := b.tags.Load(), tagOf(h)
			for i := range bucketSize {
				if tagAt(tags, i) != want {
					continue
				}
				if q := b.slot[i].Load(); q != nil {
					if e := findIn[K, V](q, h, key); e != nil {
						return e
					}
				}
			}
			return nil
		}
		return findIn[K, V](p, h, key)
	}
	return nil
}

// join returns a head for e and the entries of head, whose hash is e's: a
// new collision node.
func join[K comparable, V any](head *tnode, e *entry[K, V]) *tnode {
	c := &collision[K, V]{tnode: tnode{kindCollision}}
	if head.kind == kindCollision {
		c.es = append(slices.Clip(asCollision[K, V](head).es), e)
	} else {
		c.es = []*entry[K, V]{asEntry[K, V](head), e}
	}
	return &c.tnode
}

// insertLocked adds e, whose key must not be in the table.
func (t *table[K, V]) insertLocked(e *entry[K, V]) {
	e.kind = kindEntry
	h := e.hash()
	slot := &t.root[h>>(64-rootBits)]
	for shift := shift0; ; shift -= trieBits {
		p := slot.Load()
		if p == nil {
			slot.Store(&e.tnode)
			return
		}
		switch p.kind {
		case kindInner:
			slot = &asInner(p).child[(h>>shift)&trieMask]
			continue
		case kindBucket:
			t.insertBucketLocked(slot, asBucket(p), e, shift)
			return
		}
		old := headHash[K, V](p)
		if old == h {
			slot.Store(join(p, e))
			return
		}
		b := t.newBucketLocked()
		b.tags.Store(tagOf(old) | tagOf(h)<<tagBits)
		b.slot[0].Store(p)
		b.slot[1].Store(&e.tnode)
		slot.Store(&b.tnode)
		return
	}
}

// insertBucketLocked adds e to b, which slot holds, or splits b.
func (t *table[K, V]) insertBucketLocked(slot *atomic.Pointer[tnode], b *bucket, e *entry[K, V], shift int) {
	h := e.hash()
	free := -1
	tags, want := b.tags.Load(), tagOf(h)
	for i := range bucketSize {
		q := b.slot[i].Load()
		if q == nil {
			if free < 0 {
				free = i
			}
			continue
		}
		// The tag first: a head whose tag differs has another hash, and
		// is not read (in a large table, each head read is a cache miss).
		if tagAt(tags, i) == want && headHash[K, V](q) == h {
			b.slot[i].Store(join(q, e))
			return
		}
	}
	if free >= 0 {
		// The tag first: a reader that sees the slot's old tag with the
		// new entry only misses a key being inserted.
		b.setTag(free, h)
		b.slot[free].Store(&e.tnode)
		return
	}
	var heads [bucketSize + 1]*tnode
	for i := range bucketSize {
		heads[i] = b.slot[i].Load()
	}
	heads[bucketSize] = &e.tnode
	n := t.split(heads[:], shift)
	retire := true
	for _, p := range heads[:bucketSize] {
		retire = retire && p.kind == kindEntry
	}
	if retire {
		in := asInner(n)
		in.retired, in.rtags = b, tags
	}
	slot.Store(n)
}

// split returns a new node holding heads, whose hashes differ, at most
// bucketSize+1 of them, for the slot whose children shift picks: an inner
// node whose children are the heads alone, buckets, or further splits. It
// writes only new nodes and spare ones.
func (t *table[K, V]) split(heads []*tnode, shift int) *tnode {
	var hashes [bucketSize + 1]uint64
	for i, p := range heads {
		hashes[i] = headHash[K, V](p)
	}
	in := t.newInnerLocked(shift)
	var group [bucketSize + 1]*tnode
	var groupHash [bucketSize + 1]uint64
	for j := range uint64(trieFanout) {
		n := 0
		for i, p := range heads {
			if (hashes[i]>>shift)&trieMask == j {
				group[n], groupHash[n] = p, hashes[i]
				n++
			}
		}
		switch {
		case n == 0:
		case n == 1:
			in.child[j].Store(group[0])
		case n <= bucketSize:
			b := t.newBucketLocked()
			for i, p := range group[:n] {
				b.setTag(i, groupHash[i])
				b.slot[i].Store(p)
			}
			in.child[j].Store(&b.tnode)
		default:
			// Distinct hashes part within the bits left.
			in.child[j].Store(t.split(group[:n], shift-trieBits))
		}
	}
	return &in.tnode
}

// deleteLocked unlinks e, which must be in the table. A reader that holds a
// collision node that listed e still finds the other entries there.
func (t *table[K, V]) deleteLocked(e *entry[K, V]) {
	// path[i] is the slot taken at depth i, in nodes[i] (nil: the root).
	var path [1 + (64-rootBits)/trieBits]*atomic.Pointer[tnode]
	var nodes [1 + (64-rootBits)/trieBits]*inner
	h := e.hash()
	slot := &t.root[h>>(64-rootBits)]
	path[0] = slot
	depth := 0
	for shift := shift0; ; shift -= trieBits {
		p := slot.Load()
		if p == nil {
			return
		}
		switch p.kind {
		case kindInner:
			n := asInner(p)
			if r := n.retired; r != nil && hasTag(n.rtags, h) {
				r.forget(&e.tnode)
			}
			slot = &n.child[(h>>shift)&trieMask]
			depth++
			path[depth], nodes[depth] = slot, n
			continue
		case kindBucket:
			b := asBucket(p)
			tags, want := b.tags.Load(), tagOf(h)
			for i := range bucketSize {
				q := b.slot[i].Load()
				if q == nil {
					continue
				}
				if q != &e.tnode && (tagAt(tags, i) != want || headHash[K, V](q) != h) {
					continue // another hash: the tag first, as in insertBucketLocked
				}
				if detach(&b.slot[i], e) && b.empty() {
					slot.Store(nil)
					keepSpare(&t.spare, b, maxSpare)
					t.pruneLocked(path[:depth+1], nodes[:depth+1])
				}
				return
			}
			return
		}
		if detach(slot, e) {
			t.pruneLocked(path[:depth+1], nodes[:depth+1])
		}
		return
	}
}

// detach takes e out of the head that slot holds, and reports whether that
// left slot empty.
func detach[K comparable, V any](slot *atomic.Pointer[tnode], e *entry[K, V]) bool {
	p := slot.Load()
	if p.kind != kindCollision {
		if asEntry[K, V](p) != e {
			return false
		}
		slot.Store(nil)
		return true
	}
	es := asCollision[K, V](p).es
	i := slices.Index(es, e)
	switch {
	case i < 0:
	case len(es) == 2:
		slot.Store(&es[1-i].tnode)
	default:
		c := &collision[K, V]{tnode: tnode{kindCollision}}
		c.es = slices.Delete(slices.Clone(es), i, i+1)
		slot.Store(&c.tnode)
	}
	return false
}

// forget empties the slot of b, a retired bucket, that holds p, if one does.
func (b *bucket) forget(p *tnode) {
	for i := range b.slot {
		if b.slot[i].Load() == p {
			b.slot[i].Store(nil)
			return
		}
	}
}

// empty reports whether every slot of b is free.
func (b *bucket) empty() bool {
	for i := range b.slot {
		if b.slot[i].Load() != nil {
			return false
		}
	}
	return true
}

// pruneLocked unlinks the inner nodes that the last delete left empty, from
// the bottom of the path up; path[i] is the slot in nodes[i] that was taken,
// and path[len(path)-1] is already empty.
func (t *table[K, V]) pruneLocked(path []*atomic.Pointer[tnode], nodes []*inner) {
	for i := len(nodes) - 1; i > 0; i-- {
		n := nodes[i]
		for j := range n.child {
			if n.child[j].Load() != nil {
				return
			}
		}
		path[i-1].Store(nil)
		if r := n.retired; r != nil {
			n.retired = nil
			if r.empty() {
				keepSpare(&t.spare, r, maxSpare)
			}
		}
		// nodes[1] hangs from the root, and shift0 picks its children;
		// each level below takes trieBits fewer.
		keepSpare(&t.spareInner[(shift0-(i-1)*trieBits)/trieBits], n, maxSpareInner)
	}
}

// rangeLocked calls f for every entry in the table, in no particular order,
// until f returns false. f must not change the table.
func (t *table[K, V]) rangeLocked(f func(e *entry[K, V]) bool) {
	rangeSlots(t.root[:], f)
}

func rangeSlots[K comparable, V any](slots []atomic.Pointer[tnode], f func(e *entry[K, V]) bool) bool {
	for i := range slots {
		p := slots[i].Load()
		if p == nil {
			continue
		}
		ok := true
		switch p.kind {
		case kindInner:
			ok = rangeSlots(asInner(p).child[:], f)
		case kindBucket:
			ok = rangeSlots(asBucket(p).slot[:], f)
		case kindCollision:
			for _, e := range asCollision[K, V](p).es {
				if ok = f(e); !ok {
					break
				}
			}
		default:
			ok = f(asEntry[K, V](p))
		}
		if !ok {
			return false
		}
	}
	return true
}
