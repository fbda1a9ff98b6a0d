package bench

import (
	"context"
	"runtime"
	"testing"
)

// EntryCounts returns the numbers of entries [EntryBytes] is run with.
func EntryCounts() []int { return []int{1e3, 1e4, 1e5} }

// MemoryImpls returns the caches [EntryBytes] compares: keyedcache
// unbounded and bounded, golang-lru and otter.
func MemoryImpls() []Impl {
	var out []Impl
	for _, im := range Impls() {
		switch im.Name {
		case "keyedcache", "keyedcache-bounded", "lru", "otter":
			out = append(out, im)
		}
	}
	return out
}

// EntryBytes measures what a cache costs in memory per live entry, its keys
// and values excluded. Each operation builds the n keys and values, then
// measures the live heap (after a garbage collection) before and after
// filling a cache with them through [Cache.GetOrLoad]; a bounded cache is
// bounded at n. The keys (distinct strings) and the values (preallocated,
// and returned by the loader) exist before the first measurement, so the
// growth is the cache's alone: its tables, entries, lists and any copy of
// a key's string header it keeps. The "B/entry" metric is that growth
// divided by n, averaged over the operations; ns/op means little here.
func EntryBytes(b *testing.B, impl Impl, n int) {
	keys := make([]string, n)
	values := make([]Value, n)
	byKey := make(map[string]*Value, n)
	for i := range keys {
		keys[i] = Key(i)
		values[i].Key = keys[i]
		byKey[keys[i]] = &values[i]
	}
	load := func(_ context.Context, key string) (*Value, error) { return byKey[key], nil }

	var total float64
	b.ReportAllocs()
	for b.Loop() {
		bytes, err := heapGrowth(impl, n, load, keys)
		if err != nil {
			b.Fatal(err)
		}
		total += float64(bytes) / float64(n)
	}
	b.ReportMetric(total/float64(b.N), "B/entry")
}

// heapGrowth returns how much the live heap grows when a new cache of impl,
// of size n, loads keys with load.
func heapGrowth(impl Impl, n int, load LoadFunc, keys []string) (int64, error) {
	before := liveHeap()
	c, err := impl.New(n, load)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := populate(c, keys); err != nil {
		return 0, err
	}
	after := liveHeap()
	runtime.KeepAlive(c)
	return int64(after) - int64(before), nil
}

// liveHeap returns the bytes of live heap objects after a garbage collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
