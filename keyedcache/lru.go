package keyedcache

import (
	"math/bits"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// With Options.MaxEntries and the LRU policy, the order of use is the
// cache's order list (entries linked through pl), least recently used
// first, guarded by mu. While hits do not overlap, a hit takes mu with
// TryLock and moves its entry at once (cache.go, hit). Once a hit finds mu
// taken, hits overlap, and they stop taking it: one in sampleEvery of them
// appends its entry to its stripe's ring (stripe.go), and whoever holds mu
// next applies the rings to the order before doing anything that depends
// on it (inserting, evicting, listing keys). When a ring is full, the hit
// that finds it full applies the rings itself if mu is free, and otherwise
// drops its record: recency is approximate for overlapping calls. A drain
// applies the recorded hits in the order of each ring.

// recency holds the state of the rings' drains.
type recency[K comparable, V any] struct {
	max     int            // Options.MaxEntries; 0: unbounded
	singles int            // drains in a row that found one stripe busy
	scratch []*entry[K, V] // reused by drainLocked
	// tick counts the placements at the back of the LRU order (stores and
	// moves), and each entry's tn.Stamp is the tick of its last one, so
	// that the stamps grow from the front of the order to its back and an
	// entry whose stamp is less than near ticks old has fewer than near
	// entries behind it. A drain skips the recorded hits on such entries
	// (applyLocked), which are among the most recently used quarter of
	// the bound anyway: moving them would only reorder that quarter, and
	// would write to the cache lines of the entries that are hit most,
	// which every core that hits them then reads again from the writer.
	// Stamps have 48 bits: when tick would pass them, which takes 2^48
	// placements (days at any rate a mutex allows), restampLocked numbers
	// the order afresh from 1, in time proportional to its length.
	tick uint64
	near uint64 // MaxEntries/4
}

// sampleEvery is how many hits of a stripe the cache lets pass for each one
// it records, while hits overlap. A power of two.
const sampleEvery = 8

// exactAfter is how many drains in a row must find one stripe busy, and at
// least exactBatch hits, before the cache takes hits to have stopped
// overlapping.
const (
	exactAfter = 4
	exactBatch = ringSize / 4
)

// record notes a lock-free hit on e, the n-th counted in stripe i, for the
// policy, while hits overlap (hit applies the others at once). So that
// concurrent hits never write to shared memory, it records only one hit in
// sampleEvery of each stripe, in the stripe's ring, which whoever holds mu
// next applies. A hit that finds its ring full applies the rings itself if
// mu is free, and otherwise drops its record. A key hit often is still
// recorded often; the order among rarely hit keys is what the approximation
// loses.
func (c *KeyedCache[K, V]) record(i uint32, n uint64, e *entry[K, V]) {
	if n%sampleEvery != 0 {
		return
	}
	s := &c.stripes.s[i]
	t := s.tail.Load()
	if t-s.head.Load() >= ringSize {
		if !c.mu.TryLock() {
			return // overlapping a call that holds mu: drop the hit
		}
		c.drainLocked()
		if !c.stripes.concurrent.Load() {
			// The drain found that hits no longer overlap: apply this one
			// at once too, after those it applied.
			if live(e.st.Load()) {
				c.accessLocked(e)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		t = s.tail.Load()
	}
	if s.tail.CompareAndSwap(t, t+1) {
		slot := &s.ring[t%ringSize]
		slot.Store(e)
		// Marked after the store and before the checks below: a drain
		// that follows e's removal either finds the mark or follows one
		// that took the record (collectLocked).
		c.stripes.mark(i)
		if !live(e.st.Load()) || int32(s.head.Load()-t) > 0 {
			// e left the cache since the lookup, maybe after the drain
			// that followed its removal, or a drain has passed this slot
			// while it was claimed but empty: either way no drain will
			// take the record, and the ring must not keep e.
			slot.CompareAndSwap(e, nil)
		}
	}
	// else another goroutine on this stripe took the slot: drop the hit.
}

// collectLocked empties the rings into the scratch batch, and reports how
// many stripes held hits. It reads only the rings marked pending, and
// clears each mark before it reads the ring: a record stored after the
// read is marked again (record), so no record is left unmarked. A record
// whose hit found its entry live was marked before that check, and so
// before the entry's removal, whose drain then finds the mark or follows
// the drain that cleared it, which took the record: once the drain that
// follows a removal is over, no ring holds the removed entry.
func (c *KeyedCache[K, V]) collectLocked() (batch []*entry[K, V], used int) {
	batch = c.rec.scratch[:0]
	ss := &c.stripes
	for wi := 0; wi < len(ss.s); wi += 64 {
		w := &ss.pending[wi/64].w
		if w.Load() == 0 {
			continue
		}
		for set := w.Swap(0); set != 0; set &= set - 1 {
			s := &ss.s[wi+bits.TrailingZeros64(set)]
			h, t := s.head.Load(), s.tail.Load()
			if h == t {
				continue
			}
			used++
			// Move head first: a hit that fills one of these slots after
			// it was swept below sees that head has passed it, and empties
			// it again (record). The sweep takes every slot filled before
			// it.
			s.head.Store(t)
			for ; h != t; h++ {
				if e := s.ring[h%ringSize].Swap(nil); e != nil {
					batch = append(batch, e)
				}
			}
		}
	}
	return batch, used
}

// drainLocked applies the hits recorded in the rings to the policy, and
// decides whether hits still overlap. It reads only the rings marked
// pending: when none is, as while hits do not overlap (they are then
// applied at once, by hit), it costs a load per 64 stripes.
func (c *KeyedCache[K, V]) drainLocked() {
	if c.rec.max == 0 {
		return
	}
	ss := &c.stripes
	batch, used := c.collectLocked()
	if ss.concurrent.Load() {
		// Hits have overlapped; see whether they still do.
		switch {
		case used > 1:
			c.rec.singles = 0
		case used == 1 && len(batch) >= exactBatch:
			if c.rec.singles++; c.rec.singles >= exactAfter {
				c.rec.singles = 0
				// Hits that read the flag before it changed may still
				// record themselves: the next drains take their records.
				ss.concurrent.Store(false)
			}
		}
	}
	if len(batch) == 0 {
		return
	}
	// In order: the LRU order comes out as if each hit had been applied
	// when it was made, and every access counts in TinyLFU's sketch.
	for _, e := range batch {
		if live(e.st.Load()) {
			c.applyLocked(e)
		}
	}
	clear(batch)
	c.rec.scratch = batch[:0]
}

// touchLocked moves e to the front of the LRU order, after what the rings
// hold, which happened before.
func (c *KeyedCache[K, V]) touchLocked(e *entry[K, V]) {
	if c.rec.max == 0 {
		return
	}
	c.drainLocked()
	c.accessLocked(e)
}

// admitLocked adds e, a value about to be stored, to the policy's order,
// evicting what the bound requires, and appends the removals to out. It
// reports false if the policy turned e away instead (TinyLFU only): the
// caller then removes e, as evicted.
func (c *KeyedCache[K, V]) admitLocked(e *entry[K, V], out *[]removal[K, V]) bool {
	if c.rec.max == 0 {
		c.order.PushBack(&e.tn) // creation order
		return true
	}
	c.drainLocked()
	if c.tiny != nil {
		v := c.tiny.Add(&e.tn)
		if v == nil {
			return true
		}
		if v == &e.tn {
			return false
		}
		*out = c.removeLocked(entryOf[K, V](v), Evicted, *out)
		return true
	}
	for c.order.Len() >= c.rec.max {
		*out = c.removeLocked(entryOf[K, V](c.order.Front()), Evicted, *out)
	}
	c.stampLocked(e)
	c.order.PushBack(&e.tn)
	return true
}

// stampLocked stamps e, about to be placed at the back of the LRU order,
// with the next tick.
func (c *KeyedCache[K, V]) stampLocked(e *entry[K, V]) {
	if c.rec.tick == tinylfu.MaxStamp {
		c.restampLocked()
	}
	c.rec.tick++
	e.tn.SetStamp(c.rec.tick)
}

// restampLocked numbers the entries of the LRU order from 1, front to back,
// and sets tick to the last: each entry is then exactly as many ticks old
// as it has entries behind it. Once in 2^48 placements.
func (c *KeyedCache[K, V]) restampLocked() {
	c.rec.tick = 0
	for n := c.order.Front(); n != nil; n = c.order.Next(n) {
		c.rec.tick++
		n.SetStamp(c.rec.tick)
	}
}

// applyLocked applies a recorded hit on e, a live value: under LRU, unless
// e is among the entries placed last (see recency.tick); under TinyLFU, as
// tinylfu.Policy.AccessLate does, which likewise leaves in place a
// protected entry placed among the last of its queue.
func (c *KeyedCache[K, V]) applyLocked(e *entry[K, V]) {
	if c.tiny != nil {
		c.tiny.AccessLate(&e.tn)
		return
	}
	if c.rec.tick-e.tn.Stamp() < c.rec.near {
		return
	}
	c.accessLocked(e)
}

// accessLocked records a use of e, a live value.
func (c *KeyedCache[K, V]) accessLocked(e *entry[K, V]) {
	if c.tiny != nil {
		c.tiny.Access(&e.tn)
		return
	}
	c.stampLocked(e)
	c.order.MoveToBack(&e.tn)
}

// forgetLocked takes e out of the policy's order.
func (c *KeyedCache[K, V]) forgetLocked(e *entry[K, V]) {
	if c.tiny != nil {
		c.tiny.Remove(&e.tn)
		return
	}
	c.order.Remove(&e.tn)
}

// ascendLocked calls f for the stored values, live or expired, in the
// order of Keys, until f returns false: least recently used first under
// LRU; under TinyLFU the window, then probation, then protected, each
// oldest first (see tinylfu.Policy.Ascend); unbounded, oldest first.
func (c *KeyedCache[K, V]) ascendLocked(f func(*entry[K, V]) bool) {
	if c.tiny != nil {
		c.tiny.Ascend(func(n *tinylfu.Node) bool { return f(entryOf[K, V](n)) })
		return
	}
	for n := c.order.Front(); n != nil; n = c.order.Next(n) {
		if !f(entryOf[K, V](n)) {
			return
		}
	}
}

// firstLocked returns the first stored value in the order of Keys, or nil.
func (c *KeyedCache[K, V]) firstLocked() *entry[K, V] {
	var first *entry[K, V]
	c.ascendLocked(func(e *entry[K, V]) bool { first = e; return false })
	return first
}
