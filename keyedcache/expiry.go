package keyedcache

import (
	"math"
	"time"
)

// Values expire after creation. With Options.TTL every value lives as long,
// so creation order is expiry order: the cache keeps the values that can
// expire in a list, oldest first (ttl), expired ones are at its front, and
// sweeping costs only what it removes. With Options.ExpireAfter lifetimes
// differ, and the values sit in a hierarchical timer wheel (wheel), as in
// Caffeine and otter: sweeping costs, per value removed, a constant number
// of moves between its levels, whatever the number of entries.
//
// No goroutine runs in the background: Get misses, Acquire, Set, Delete,
// Clear and Close sweep (under mu, before they do their own work), and
// their OnEvict calls run in the goroutine of that call. Hits, Peek, Len,
// Keys, All and Stats never remove anything: they skip or leave out the
// expired values they see.

// clock returns the time since the cache was created. time.Since reads the
// monotonic clock, which testing/synctest fakes in its bubbles.
func (c *KeyedCache[K, V]) clock() int64 {
	return int64(time.Since(c.born))
}

// now returns clock(), or 0 for a cache without TTL, ExpireAfter or
// RefreshAfter, which never needs the time: reading it is a tenth of a
// miss's cost.
func (c *KeyedCache[K, V]) now() int64 {
	if !c.timed {
		return 0
	}
	return c.clock()
}

// expiredAt reports whether e, an entry of a timed cache, has expired at
// clock reading now.
func (e *entry[K, V]) expiredAt(now int64) bool {
	x := e.tm().expires
	return x != 0 && now >= x
}

// expiredAt reports whether e has expired at clock reading now (which
// c.now returned).
func (c *KeyedCache[K, V]) expiredAt(e *entry[K, V], now int64) bool {
	return c.timed && e.expiredAt(now)
}

// fresh reports whether e, found live by a hit, has not expired. It reads
// the clock only if e can expire.
func (c *KeyedCache[K, V]) fresh(e *entry[K, V]) bool {
	if !c.timed {
		return true
	}
	x := e.tm().expires
	return x == 0 || c.clock() < x
}

// after returns the clock reading d after now, or 0 (never) when d is not
// positive or the sum would not fit in an int64.
func after(now int64, d time.Duration) int64 {
	if d <= 0 || int64(d) > math.MaxInt64-now {
		return 0
	}
	return now + int64(d)
}

// expiry holds the values that can expire; guarded by mu.
type expiry[K comparable, V any] struct {
	ttl   list[K, V]   // with Options.TTL: creation order
	wheel *wheel[K, V] // with Options.ExpireAfter
}

func (x *expiry[K, V]) addLocked(e *entry[K, V], now int64) {
	if x.wheel != nil {
		x.wheel.schedule(e, now)
		return
	}
	x.ttl.pushBack(e)
}

func (x *expiry[K, V]) removeLocked(e *entry[K, V]) {
	if x.wheel != nil {
		x.wheel.unschedule(e)
		return
	}
	x.ttl.remove(e)
}

// sweepLocked removes the values expired at now, appending them to out.
func (c *KeyedCache[K, V]) sweepLocked(now int64, out []removal[K, V]) []removal[K, V] {
	if c.exp.wheel != nil {
		drained := false
		c.exp.wheel.advance(now, func(e *entry[K, V]) {
			if !drained {
				c.drainLocked()
				drained = true
			}
			out = c.removeLocked(e, Expired, out)
		})
		return out
	}
	if e := c.exp.ttl.head; e != nil && e.expiredAt(now) {
		// Apply buffered hits first: they came before, and no ring should
		// keep a value that leaves.
		c.drainLocked()
	}
	for e := c.exp.ttl.head; e != nil && e.expiredAt(now); e = c.exp.ttl.head {
		out = c.removeLocked(e, Expired, out)
	}
	return out
}

// expiredLocked counts the values that expired at or before now but have
// not been swept yet, without removing them.
func (c *KeyedCache[K, V]) expiredLocked(now int64) int {
	if c.exp.wheel != nil {
		return c.exp.wheel.countExpired(now)
	}
	n := 0
	for e := c.exp.ttl.head; e != nil && e.expiredAt(now); e = e.tm().tl.next {
		n++
	}
	return n
}

// The wheel has five levels of 64 buckets. A bucket of level i covers 2^(20+6i)
// ns of clock: about 1 ms, 67 ms, 4.3 s, 4.6 min and 4.9 h; a level spans 64
// of them. A value goes into the finest level whose span holds its remaining
// lifetime, in the bucket of its expiry time. As the clock enters a bucket's
// time, advance moves its values into finer levels, or removes them if they
// have expired; so every value not yet expired sits in a bucket whose time
// lies ahead, except in level 0's current bucket, which advance and
// countExpired read whole (values expiring within the same millisecond),
// and which the next advance that leaves it empties.
const (
	wheelLevels = 5
	wheelBits   = 6
	wheelSize   = 1 << wheelBits
	wheelShift0 = 20
)

type wheel[K comparable, V any] struct {
	time    int64 // clock reading of the last advance
	buckets [wheelLevels][wheelSize]list[K, V]
}

func newWheel[K comparable, V any](now int64) *wheel[K, V] {
	return &wheel[K, V]{time: now}
}

func wheelShift(level int) uint { return uint(wheelShift0 + wheelBits*level) }

// schedule puts e, which expires after w.time, into its bucket.
func (w *wheel[K, V]) schedule(e *entry[K, V], now int64) {
	if now < w.time {
		now = w.time
	}
	x := e.tm().expires
	d := x - now
	level := 0
	for level < wheelLevels-1 && d >= 1<<(wheelShift(level)+wheelBits) {
		level++
	}
	idx := (x >> wheelShift(level)) & (wheelSize - 1)
	e.wpos = uint16(level<<8) | uint16(idx)
	w.buckets[level][idx].pushBack(e)
}

// unscheduled is the wpos of an entry in no bucket.
const unscheduled = 0xffff

func (w *wheel[K, V]) unschedule(e *entry[K, V]) {
	if e.wpos != unscheduled {
		w.buckets[e.wpos>>8][e.wpos&0xff].remove(e)
		e.wpos = unscheduled
	}
}

// advance moves the wheel to now: it calls expire for every value expired
// at now, after taking it out of the wheel, and moves the others whose
// bucket's time has begun into finer levels.
func (w *wheel[K, V]) advance(now int64, expire func(*entry[K, V])) {
	if now < w.time {
		return
	}
	prev := w.time
	w.time = now
	for level := wheelLevels - 1; level >= 0; level-- {
		s := wheelShift(level)
		from, to := prev>>s, now>>s
		if to-from > wheelSize {
			from = to - wheelSize
		}
		first := from + 1
		if level == 0 && to > from {
			// The bucket that was current at the last advance too: it
			// kept the values that expire within its millisecond but had
			// not expired then, and they have now.
			first = from
		}
		for t := first; t <= to; t++ {
			b := &w.buckets[level][t&(wheelSize-1)]
			e := b.head
			b.reset()
			for e != nil {
				next := e.tm().tl.next
				e.tm().tl = links[K, V]{}
				e.wpos = unscheduled
				if e.expiredAt(now) {
					expire(e)
				} else {
					w.schedule(e, now)
				}
				e = next
			}
		}
	}
	// Level 0's current bucket holds values that expire within its
	// millisecond: some may have expired already.
	b := &w.buckets[0][(now>>wheelShift0)&(wheelSize-1)]
	for e := b.head; e != nil; {
		next := e.tm().tl.next
		if e.expiredAt(now) {
			expire(e)
		}
		e = next
	}
}

// countExpired counts the values in the wheel that have expired at now,
// reading only the buckets whose time has begun since the last advance.
func (w *wheel[K, V]) countExpired(now int64) int {
	if now < w.time {
		return 0
	}
	n := 0
	for level := wheelLevels - 1; level >= 0; level-- {
		s := wheelShift(level)
		from, to := w.time>>s, now>>s
		if level == 0 {
			from-- // and the current bucket at the last advance
		}
		if to-from > wheelSize {
			from = to - wheelSize
		}
		for t := from + 1; t <= to; t++ {
			for e := w.buckets[level][t&(wheelSize-1)].head; e != nil; e = e.tm().tl.next {
				if e.expiredAt(now) {
					n++
				}
			}
		}
	}
	return n
}
