package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// model is a plain reference for a single goroutine's view of the cache: a
// map, a textbook LRU list, a creation-order list, the clock, and the same
// counters. Every operation documents which removals it performs, so the
// fuzz target can compare both after each step.
type model struct {
	max     int
	ttl     time.Duration
	vals    map[int]modelEntry
	lru     []int // least recently used first
	created []int // oldest first
	stats   Stats
	evicted []string
	loads   int
}

type modelEntry struct {
	val     int
	expires time.Time // zero: never
}

var errModel = errors.New("key 7 never loads")

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

func (m *model) live(k int, now time.Time) bool {
	e, ok := m.vals[k]
	return ok && (e.expires.IsZero() || now.Before(e.expires))
}

func (m *model) remove(k int, why Reason) {
	m.evicted = append(m.evicted, fmt.Sprintf("%d=%d:%v", k, m.vals[k].val, why))
	delete(m.vals, k)
	m.lru = slices.DeleteFunc(m.lru, func(x int) bool { return x == k })
	m.created = slices.DeleteFunc(m.created, func(x int) bool { return x == k })
	switch why {
	case Evicted:
		m.stats.Evictions++
	case Expired:
		m.stats.Expirations++
	}
}

func (m *model) sweep(now time.Time) {
	for _, k := range slices.Clone(m.created) {
		if !m.live(k, now) {
			m.remove(k, Expired)
		}
	}
}

func (m *model) touch(k int) {
	m.lru = slices.DeleteFunc(m.lru, func(x int) bool { return x == k })
	m.lru = append(m.lru, k)
}

func (m *model) get(k int, now time.Time) (int, error) {
	if m.live(k, now) {
		m.stats.Hits++
		m.touch(k)
		return m.vals[k].val, nil
	}
	m.stats.Misses++
	m.sweep(now)
	if k == 7 {
		m.stats.LoadErrors++
		return 0, errModel
	}
	m.loads++
	m.stats.Loads++
	v := k*1000 + m.loads
	if m.max > 0 && len(m.lru) >= m.max {
		m.remove(m.lru[0], Evicted)
	}
	e := modelEntry{val: v}
	if m.ttl > 0 {
		e.expires = now.Add(m.ttl)
	}
	m.vals[k] = e
	m.touch(k)
	m.created = append(m.created, k)
	return v, nil
}

func (m *model) removeAll(why Reason, now time.Time) {
	m.sweep(now)
	for _, k := range slices.Clone(m.created) {
		m.remove(k, why)
	}
}

func (m *model) keys() []int {
	if m.max > 0 {
		return slices.Clone(m.lru)
	}
	return slices.Clone(m.created)
}

// FuzzModel drives random operation sequences through a cache and the model
// and compares Get, Peek, Delete, Len, Keys, Stats and the OnEvict log after
// every step. The first byte picks the configuration; each later byte is an
// operation on one of eight keys.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x02, 0x01, 0x40, 0x81, 0xC3})
	f.Add([]byte{0x13, 0x01, 0x02, 0x03, 0x04, 0x01, 0x05, 0xE0, 0x01, 0xA2})
	f.Add([]byte{0x2A, 0x01, 0xE1, 0x02, 0xE2, 0x01, 0x07, 0x60, 0xC0, 0x03})
	f.Add([]byte{0x31, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x20, 0x01})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		synctest.Test(t, func(t *testing.T) { runModel(t, ops) })
	})
}

func runModel(t *testing.T, ops []byte) {
	cfg := ops[0]
	m := &model{max: int(cfg & 7), vals: map[int]modelEntry{}}
	if cfg&0x10 != 0 {
		m.ttl = 10 * time.Second
	}
	var loads int
	var evicted []string
	c, err := New(modelLoad(&loads), &Options[int, int]{MaxEntries: m.max, TTL: m.ttl,
		OnEvict: func(k, v int, r Reason) { evicted = append(evicted, fmt.Sprintf("%d=%d:%v", k, v, r)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for step, op := range ops[1:] {
		k := int(op & 7)
		now := time.Now()
		var desc string
		switch op >> 5 {
		case 0, 1, 2: // Get is the common case
			desc = fmt.Sprintf("Get(%d)", k)
			wv, werr := m.get(k, now)
			v, err := c.Get(ctx, k)
			if v != wv || !errors.Is(err, werr) {
				t.Fatalf("step %d %s = %d, %v; model %d, %v", step, desc, v, err, wv, werr)
			}
		case 3:
			desc = fmt.Sprintf("Peek(%d)", k)
			v, ok := c.Peek(k)
			if wok := m.live(k, now); ok != wok || (ok && v != m.vals[k].val) {
				t.Fatalf("step %d %s = %d, %v; model %d, %v", step, desc, v, ok, m.vals[k].val, wok)
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
			desc = "Keys()"
			m.sweep(now)
			if got, want := c.Keys(), m.keys(); !slices.Equal(got, want) {
				t.Fatalf("step %d %s = %v, want %v", step, desc, got, want)
			}
		case 7:
			desc = "Len()"
			m.sweep(now)
			if got, want := c.Len(), len(m.vals); got != want {
				t.Fatalf("step %d %s = %d, want %d", step, desc, got, want)
			}
		}
		if !slices.Equal(evicted, m.evicted) {
			t.Fatalf("step %d %s: OnEvict log %v, model %v", step, desc, evicted, m.evicted)
		}
		m.sweep(time.Now())
		m.stats.Entries = len(m.vals)
		got := c.Stats()
		if got != m.stats {
			t.Fatalf("step %d %s: Stats() = %+v\nmodel      %+v", step, desc, got, m.stats)
		}
		if !slices.Equal(evicted, m.evicted) {
			t.Fatalf("step %d %s then Stats(): OnEvict log %v, model %v", step, desc, evicted, m.evicted)
		}
	}
	m.removeAll(Closed, time.Now())
	c.Close()
	if !slices.Equal(evicted, m.evicted) {
		t.Fatalf("Close(): OnEvict log %v, model %v", evicted, m.evicted)
	}
}
