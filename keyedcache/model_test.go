package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/reuse-go/reuse/keyedcache/internal/tinylfu"
)

// model is a plain reference for a single goroutine's view of the cache: a
// map, a textbook LRU list, a creation-order list, the clock, leases, and
// the same counters. Every operation documents which removals it performs,
// so the fuzz target can compare both after each step.
type model struct {
	max          int
	ttl          time.Duration
	expireAfter  bool
	refreshAfter time.Duration
	vals         map[int]*mval // stored values, expired ones not yet swept included
	lru          []int         // least recently used first
	created      []int         // oldest first
	held         []*mval       // leases held, oldest first; nil for one that holds nothing
	awaiting     int
	stats        Stats
	evicted      []string
	loads        int
	// With TinyLFU, the policy's own decisions are the reference: the
	// model replays the same calls on a policy of its own.
	tiny  *tinylfu.Policy
	nodes map[int]*keyedNode[int]
	hash  func(int) uint64
}

// An mval is one stored value.
type mval struct {
	k, v      int
	expires   time.Time // zero: never
	refreshAt time.Time // zero: never
	leases    int
	removed   bool
	why       Reason
}

var errModel = errors.New("key 7 never loads")

// lruTouch returns keys, a textbook LRU list of at most max keys (least
// recently used first), after a use of k: k moves to the back, or joins it
// and pushes out the front when the list is full.
func lruTouch(keys []int, k, max int) []int {
	if i := slices.Index(keys, k); i >= 0 {
		keys = slices.Delete(keys, i, i+1)
	} else if len(keys) >= max {
		keys = keys[1:]
	}
	return append(keys, k)
}

// lruForget returns keys without k, for a model of the LRU order.
func lruForget(keys []int, k int) []int {
	if i := slices.Index(keys, k); i >= 0 {
		keys = slices.Delete(keys, i, i+1)
	}
	return keys
}

// modelLoad is the loader both sides use: key 7 always fails; other keys get
// a value that names the load that made it.
func modelLoad(n *int) Loader[int, int] {
	return func(_ context.Context, k int) (int, error) {
		if k == 7 {
			return 0, errModel
		}
		*n++
		return k*1000 + *n, nil
	}
}

// modelLife is the ExpireAfter both sides use: 0, 4, 8 or 12 s, by value.
func modelLife(_, v int) time.Duration { return time.Duration(v%4) * 4 * time.Second }

func (m *model) live(k int, now time.Time) bool {
	e, ok := m.vals[k]
	return ok && (e.expires.IsZero() || now.Before(e.expires))
}

func (m *model) remove(k int, why Reason) {
	e := m.vals[k]
	delete(m.vals, k)
	m.lru = slices.DeleteFunc(m.lru, func(x int) bool { return x == k })
	m.created = slices.DeleteFunc(m.created, func(x int) bool { return x == k })
	switch why {
	case Evicted:
		m.stats.Evictions++
	case Expired:
		m.stats.Expirations++
	}
	e.removed, e.why = true, why
	if m.tiny != nil {
		m.tiny.Remove(&m.nodes[k].Node)
	}
	if e.leases > 0 {
		m.awaiting++
		return
	}
	m.evicted = append(m.evicted, fmt.Sprintf("%d=%d:%v", k, e.v, why))
}

// sweep removes the expired values, in the order the cache's structure
// keeps them: creation order for TTL (and the wheel's order, which the
// comparison does not check, for ExpireAfter).
func (m *model) sweep(now time.Time) {
	for _, k := range slices.Clone(m.created) {
		if !m.live(k, now) {
			m.remove(k, Expired)
		}
	}
}

func (m *model) touch(k int) {
	if m.tiny != nil {
		m.tiny.Access(&m.nodes[k].Node)
	}
	m.lru = slices.DeleteFunc(m.lru, func(x int) bool { return x == k })
	m.lru = append(m.lru, k)
}

// store makes v the value of k, created now, as a load or Set does; leases
// are the Acquires that receive it. A value born expired (ExpireAfter <= 0)
// is handed to them but takes no place in the cache: it evicts nothing.
func (m *model) store(k, v int, now time.Time, leases int) *mval {
	if _, ok := m.vals[k]; ok {
		m.remove(k, Replaced)
	}
	e := &mval{k: k, v: v, leases: leases}
	life := m.ttl
	if m.expireAfter {
		life = modelLife(k, v)
		if life <= 0 {
			m.stats.Expirations++
			e.removed, e.why = true, Expired
			if e.leases > 0 {
				m.awaiting++
			} else {
				m.evicted = append(m.evicted, fmt.Sprintf("%d=%d:%v", k, v, Expired))
			}
			return e
		}
	}
	if m.tiny == nil && m.max > 0 && len(m.lru) >= m.max {
		m.remove(m.lru[0], Evicted)
	}
	if life > 0 {
		e.expires = now.Add(life)
	}
	if m.refreshAfter > 0 {
		e.refreshAt = now.Add(m.refreshAfter)
	}
	m.vals[k] = e
	m.created = append(m.created, k)
	if m.tiny == nil {
		m.touch(k)
		return e
	}
	m.lru = append(m.lru, k)
	n := &keyedNode[int]{key: k}
	n.Hash = m.hash(k)
	m.nodes[k] = n
	switch victim := m.tiny.Add(&n.Node); {
	case victim == nil:
	case victim == &n.Node:
		m.remove(k, Evicted)
	default:
		m.remove(keyOf[int](victim), Evicted)
	}
	return e
}

// get is Get, or with acquire, Acquire.
func (m *model) get(k int, now time.Time, acquire bool) (int, error) {
	if m.live(k, now) {
		m.stats.Hits++
		m.touch(k)
		e := m.vals[k]
		if acquire {
			e.leases++
			m.held = append(m.held, e)
		}
		if m.refreshAfter > 0 && !now.Before(e.refreshAt) {
			m.refresh(e, now)
		}
		return e.v, nil
	}
	m.stats.Misses++
	m.sweep(now)
	if k == 7 {
		m.stats.LoadErrors++
		if acquire {
			m.held = append(m.held, nil)
		}
		return 0, errModel
	}
	m.loads++
	m.stats.Loads++
	v := k*1000 + m.loads
	leases := 0
	if acquire {
		leases = 1
	}
	e := m.store(k, v, now, leases)
	if acquire {
		m.held = append(m.held, e)
	}
	return v, nil
}

// refresh reloads e's key, which has just been hit, as the cache's
// background refresh does by the end of the step.
func (m *model) refresh(e *mval, now time.Time) {
	m.stats.Refreshes++
	if e.k == 7 {
		m.stats.LoadErrors++
		e.refreshAt = now.Add(m.refreshAfter)
		return
	}
	m.loads++
	m.stats.Loads++
	m.store(e.k, e.k*1000+m.loads, now, 0)
}

func (m *model) set(k, v int, now time.Time) {
	m.sweep(now)
	m.store(k, v, now, 0)
}

func (m *model) release() {
	if len(m.held) == 0 {
		return
	}
	e := m.held[0]
	m.held = m.held[1:]
	if e == nil {
		return
	}
	e.leases--
	if e.leases == 0 && e.removed {
		m.awaiting--
		m.evicted = append(m.evicted, fmt.Sprintf("%d=%d:%v", e.k, e.v, e.why))
	}
}

func (m *model) removeAll(why Reason, now time.Time) {
	m.sweep(now)
	for _, k := range m.keys(now) {
		m.remove(k, why)
	}
}

// keys lists the live keys in the cache's order.
func (m *model) keys(now time.Time) []int {
	order := m.created
	if m.max > 0 {
		order = m.lru
	}
	if m.tiny != nil {
		order = nil
		m.tiny.Ascend(func(n *tinylfu.Node) bool { order = append(order, keyOf[int](n)); return true })
	}
	var keys []int
	for _, k := range order {
		if m.live(k, now) {
			keys = append(keys, k)
		}
	}
	return keys
}

// FuzzModel drives random operation sequences through a cache and the model
// and compares Get, Acquire, release, Set, Peek, Delete, Len, Keys, All,
// Stats and the OnEvict log after every step. The first byte picks the
// configuration; each later byte is an operation on one of eight keys.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x02, 0x01, 0x40, 0x81, 0xC3})
	f.Add([]byte{0x13, 0x01, 0x02, 0x03, 0x04, 0x01, 0x05, 0xE0, 0x01, 0xA2})
	f.Add([]byte{0x2A, 0x01, 0xE1, 0x02, 0xE2, 0x01, 0x07, 0x60, 0xC0, 0x03})
	f.Add([]byte{0x31, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x20, 0x01})
	f.Add([]byte{0x22, 0x41, 0x42, 0x43, 0x51, 0x01, 0x51, 0x51, 0x7a, 0x03, 0x04})
	f.Add([]byte{0x62, 0x01, 0x02, 0xa4, 0x01, 0xa4, 0x01, 0x71, 0x05, 0xe1})
	f.Add([]byte{0x92, 0x01, 0x41, 0x02, 0xa3, 0x01, 0x02, 0x51, 0x03, 0x51, 0xc0, 0x78})
	f.Add([]byte{0x83, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x05, 0x02, 0x02, 0x06, 0xc1, 0x01, 0x05, 0xe0})
	f.Add([]byte{0xd2, 0x01, 0x02, 0x01, 0x03, 0x41, 0x04, 0xa5, 0x51, 0x01, 0x7b, 0xc1, 0xe0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		synctest.Test(t, func(t *testing.T) { runModel(t, ops) })
	})
}

// runModel: ops[0] is the configuration: bits 0-2 MaxEntries (0:
// unbounded), bit 4 TTL 10s, bit 5 ExpireAfter (modelLife; replaces TTL),
// bit 6 RefreshAfter 3s, bit 7 the TinyLFU policy (with a bound), whose
// decisions the model takes from a policy of its own fed the same calls.
func runModel(t *testing.T, ops []byte) {
	cfg := ops[0]
	m := &model{max: int(cfg & 7), vals: map[int]*mval{}}
	if cfg&0x10 != 0 {
		m.ttl = 10 * time.Second
	}
	opts := &Options[int, int]{MaxEntries: m.max, TTL: m.ttl}
	if cfg&0x20 != 0 {
		m.expireAfter = true
		m.ttl = 0
		opts.ExpireAfter = modelLife
	}
	if cfg&0x40 != 0 {
		m.refreshAfter = 3 * time.Second
		opts.RefreshAfter = m.refreshAfter
	}
	if cfg&0x80 != 0 && m.max > 0 {
		opts.Policy = TinyLFU
		m.tiny = tinylfu.New(m.max)
		m.nodes = map[int]*keyedNode[int]{}
	}
	var loads int
	var evicted []string
	opts.OnEvict = func(k, v int, r Reason) { evicted = append(evicted, fmt.Sprintf("%d=%d:%v", k, v, r)) }
	c, err := New(modelLoad(&loads), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m.hash = c.hash
	var held []func()
	ctx := context.Background()
	sameLog := func() bool {
		if !m.expireAfter {
			return slices.Equal(evicted, m.evicted)
		}
		// The timer wheel sweeps in its own order.
		return slices.Equal(slices.Sorted(slices.Values(evicted)), slices.Sorted(slices.Values(m.evicted)))
	}
	for step, op := range ops[1:] {
		k := int(op & 7)
		variant := op >> 3 & 3
		now := time.Now()
		var desc string
		switch op >> 5 {
		case 0, 1: // Get is the common case
			desc = fmt.Sprintf("Get(%d)", k)
			wv, werr := m.get(k, now, false)
			v, err := c.Get(ctx, k)
			if v != wv || !errors.Is(err, werr) {
				t.Fatalf("step %d %s = %d, %v; model %d, %v", step, desc, v, err, wv, werr)
			}
		case 2:
			if variant >= 2 {
				desc = "release()"
				m.release()
				if len(held) > 0 {
					held[0]()
					held[0]() // idempotent
					held = held[1:]
				}
				break
			}
			desc = fmt.Sprintf("Acquire(%d)", k)
			wv, werr := m.get(k, now, true)
			v, release, err := c.Acquire(ctx, k)
			if v != wv || !errors.Is(err, werr) || release == nil {
				t.Fatalf("step %d %s = %d, %v; model %d, %v", step, desc, v, err, wv, werr)
			}
			held = append(held, release)
		case 3:
			if variant >= 2 {
				v := 9000 + step
				desc = fmt.Sprintf("Set(%d, %d)", k, v)
				m.set(k, v, now)
				if err := c.Set(k, v); err != nil {
					t.Fatalf("step %d %s: %v", step, desc, err)
				}
				break
			}
			desc = fmt.Sprintf("Peek(%d)", k)
			v, ok := c.Peek(k)
			if wok := m.live(k, now); ok != wok || (ok && v != m.vals[k].v) {
				t.Fatalf("step %d %s = %d, %v; model %v", step, desc, v, ok, wok)
			}
		case 4:
			desc = fmt.Sprintf("Delete(%d)", k)
			m.sweep(now)
			want := m.live(k, now)
			if want {
				m.remove(k, Deleted)
			}
			if got := c.Delete(k); got != want {
				t.Fatalf("step %d %s = %v, want %v", step, desc, got, want)
			}
		case 5:
			desc = fmt.Sprintf("Sleep(%ds)", k*2)
			time.Sleep(time.Duration(k) * 2 * time.Second)
		case 6:
			if k == 0 {
				desc = "Clear()"
				m.removeAll(Cleared, now)
				c.Clear()
				break
			}
			desc = "Keys() and All()"
			want := m.keys(now)
			if got := c.Keys(); !slices.Equal(got, want) {
				t.Fatalf("step %d Keys() = %v, want %v", step, got, want)
			}
			var got []int
			for k, v := range c.All() {
				got = append(got, k)
				if v != m.vals[k].v {
					t.Fatalf("step %d All() yields %d=%d, want %d", step, k, v, m.vals[k].v)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d All() keys = %v, want %v", step, got, want)
			}
		case 7:
			desc = "Len()"
			if got, want := c.Len(), len(m.keys(now)); got != want {
				t.Fatalf("step %d %s = %d, want %d", step, desc, got, want)
			}
		}
		synctest.Wait() // let a refresh finish
		if !sameLog() {
			t.Fatalf("step %d %s: OnEvict log %v, model %v", step, desc, evicted, m.evicted)
		}
		m.stats.Entries = len(m.keys(time.Now()))
		m.stats.AwaitingRelease = m.awaiting
		got := c.Stats()
		got.LoadTime = 0
		if got != m.stats {
			t.Fatalf("step %d %s: Stats() = %+v\nmodel      %+v", step, desc, got, m.stats)
		}
	}
	m.removeAll(Closed, time.Now())
	c.Close()
	if !sameLog() {
		t.Fatalf("Close(): OnEvict log %v, model %v", evicted, m.evicted)
	}
	for len(held) > 0 {
		m.release()
		held[0]()
		held = held[1:]
	}
	if !sameLog() || m.awaiting != 0 {
		t.Fatalf("after the last release: OnEvict log %v, model %v", evicted, m.evicted)
	}
	if s := c.Stats(); s.AwaitingRelease != 0 {
		t.Fatalf("after the last release: AwaitingRelease = %d", s.AwaitingRelease)
	}
}
