package keyedcache

import (
	"sync/atomic"
	"unsafe"
)

// The table maps keys to entries. It is a hash trie, the structure of Go
// 1.24's sync.Map (internal/sync.HashTrieMap), simplified by the cache's
// single writer: every change is made under the cache's mu, while Gets read
// it without a lock, through atomic pointers.
//
// The root has 256 children, indexed by the top 8 bits of the key's hash;
// an inner node has 16, indexed by the next 4 bits, and so on down. A child is nil, an inner node, or the head of a chain
// of entries whose hashes are equal (a chain longer than one needs a full
// 64-bit collision). Inserting never copies more than the nodes on one path,
// and there is no resize: no single insert does work that grows with the
// number of entries. A removed entry is unlinked at once, so the table holds
// no reference to it; an inner node left empty is unlinked too.

const (
	trieBits   = 4
	trieFanout = 1 << trieBits
	trieMask   = trieFanout - 1
)

// A tnode heads both kinds of trie node; leaf tells which one it is. An
// entry begins with a tnode, so a *tnode can be converted back to it.
type tnode struct {
	leaf bool
}

// An inner node of the trie.
type inner struct {
	tnode
	child [trieFanout]atomic.Pointer[tnode]
}

// table is embedded in KeyedCache. Its root is wider than the inner nodes
// (256 slots, 2 KiB), which takes a level off every walk of a table of a few
// thousand entries.
type table[K comparable, V any] struct {
	root [1 << rootBits]atomic.Pointer[tnode]
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

// lookup returns the entry for key, whose hash is h, in any state, or nil.
// It takes no lock.
func (t *table[K, V]) lookup(h uint64, key K) *entry[K, V] {
	p := t.root[h>>(64-rootBits)].Load()
	for shift := shift0; p != nil; shift -= trieBits {
		if p.leaf {
			for e := asEntry[K, V](p); e != nil; e = e.chain.Load() {
				if e.hash == h && e.key == key {
					return e
				}
			}
			return nil
		}
		p = asInner(p).child[(h>>shift)&trieMask].Load()
	}
	return nil
}

// insertLocked adds e, whose key must not be in the table.
func (t *table[K, V]) insertLocked(e *entry[K, V]) {
	e.leaf = true
	slot := &t.root[e.hash>>(64-rootBits)]
	for shift := shift0; ; shift -= trieBits {
		p := slot.Load()
		if p == nil {
			slot.Store(&e.tnode)
			return
		}
		if !p.leaf {
			slot = &asInner(p).child[(e.hash>>shift)&trieMask]
			continue
		}
		old := asEntry[K, V](p)
		if old.hash == e.hash || shift < 0 {
			e.chain.Store(old)
			slot.Store(&e.tnode)
			return
		}
		// Split: build the inner nodes down to where the hashes part, then
		// publish them with one store, so readers see the old chain or the
		// whole new path.
		top := new(inner)
		in := top
		for s := shift; ; s -= trieBits {
			i, j := (old.hash>>s)&trieMask, (e.hash>>s)&trieMask
			if i != j {
				in.child[i].Store(&old.tnode)
				in.child[j].Store(&e.tnode)
				break
			}
			next := new(inner)
			in.child[i].Store(&next.tnode)
			in = next
		}
		slot.Store(&top.tnode)
		return
	}
}

// deleteLocked unlinks e, which must be in the table. A reader that is
// walking e's chain at that moment still reaches the entries after it.
func (t *table[K, V]) deleteLocked(e *entry[K, V]) {
	// path[i] is the slot taken at depth i, in nodes[i] (nil: the root).
	var path [1 + (64-rootBits)/trieBits]*atomic.Pointer[tnode]
	var nodes [1 + (64-rootBits)/trieBits]*inner
	slot := &t.root[e.hash>>(64-rootBits)]
	path[0] = slot
	depth := 0
	for shift := shift0; ; shift -= trieBits {
		p := slot.Load()
		if p == nil {
			return
		}
		if !p.leaf {
			n := asInner(p)
			slot = &n.child[(e.hash>>shift)&trieMask]
			depth++
			path[depth], nodes[depth] = slot, n
			continue
		}
		head := asEntry[K, V](p)
		if head == e {
			next := e.chain.Load()
			if next == nil {
				slot.Store(nil)
				t.pruneLocked(path[:depth+1], nodes[:depth+1])
			} else {
				slot.Store(&next.tnode)
			}
			return
		}
		for prev := head; prev != nil; prev = prev.chain.Load() {
			if prev.chain.Load() == e {
				prev.chain.Store(e.chain.Load())
				return
			}
		}
		return
	}
}

// pruneLocked unlinks the inner nodes that the last delete left empty, from
// the bottom of the path up; path[i] is the slot in nodes[i] that was taken.
func (t *table[K, V]) pruneLocked(path []*atomic.Pointer[tnode], nodes []*inner) {
	for i := len(nodes) - 1; i > 0; i-- {
		n := nodes[i]
		for j := range n.child {
			if n.child[j].Load() != nil {
				return
			}
		}
		path[i-1].Store(nil)
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
		if !p.leaf {
			if !rangeSlots(asInner(p).child[:], f) {
				return false
			}
			continue
		}
		for e := asEntry[K, V](p); e != nil; e = e.chain.Load() {
			if !f(e) {
				return false
			}
		}
	}
	return true
}
