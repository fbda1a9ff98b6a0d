package keyedcache_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"

	"github.com/reuse-go/reuse/keyedcache"
)

// With Policy TinyLFU, a key asked for often keeps its place against a
// stream of keys asked for once: here a scan of 1000 new keys through a
// cache of 100 leaves the ten hot keys cached, where LRU would have evicted
// them all. TinyLFU's frequencies are estimates: for about one hash seed in
// 2000 (each cache draws its own), a scanned key whose counters all
// collide with hot keys' counters looks as popular as one, and wins its
// place by the policy's random admission of such keys; then nine of the
// ten stay.
func ExamplePolicy() {
	for _, policy := range []keyedcache.Policy{keyedcache.LRU, keyedcache.TinyLFU} {
		c, err := keyedcache.New(func(_ context.Context, k int) (int, error) { return k, nil },
			&keyedcache.Options[int, int]{MaxEntries: 100, Policy: policy})
		if err != nil {
			panic(err)
		}
		ctx := context.Background()
		for range 20 {
			for hot := range 10 {
				c.Get(ctx, hot)
			}
		}
		for k := 1000; k < 2000; k++ { // a scan
			c.Get(ctx, k)
		}
		kept := 0
		for hot := range 10 {
			if _, ok := c.Peek(hot); ok {
				kept++
			}
		}
		fmt.Printf("%v: at least 9 of the 10 hot keys survive the scan: %v\n", policy, kept >= 9)
		c.Close()
	}
	// Output:
	// LRU: at least 9 of the 10 hot keys survive the scan: false
	// TinyLFU: at least 9 of the 10 hot keys survive the scan: true
}

func ExampleKeyedCache_Delete() {
	c, _ := keyedcache.New(func(_ context.Context, k string) (int, error) { return len(k), nil },
		&keyedcache.Options[string, int]{OnEvict: func(k string, v int, why keyedcache.Reason) {
			fmt.Printf("OnEvict(%s, %d, %v)\n", k, v, why)
		}})
	defer c.Close()
	c.Get(context.Background(), "abc")
	fmt.Println(c.Delete("abc"), c.Delete("abc"))
	// Output:
	// OnEvict(abc, 3, Deleted)
	// true false
}

// Keys lists least recently used first under a bound; Len counts the live
// values.
func ExampleKeyedCache_Keys() {
	c, _ := keyedcache.New(func(_ context.Context, k string) (int, error) { return len(k), nil },
		&keyedcache.Options[string, int]{MaxEntries: 3})
	defer c.Close()
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "a"} {
		c.Get(ctx, k)
	}
	fmt.Println(c.Keys(), c.Len())
	// Output:
	// [b c a] 3
}

func ExampleKeyedCache_Close() {
	c, _ := keyedcache.New(func(_ context.Context, k string) (int, error) { return len(k), nil },
		&keyedcache.Options[string, int]{OnEvict: func(k string, _ int, why keyedcache.Reason) {
			fmt.Printf("OnEvict(%s, %v)\n", k, why)
		}})
	c.Get(context.Background(), "pool")
	c.Close()
	_, err := c.Get(context.Background(), "pool")
	fmt.Println(err)
	// Output:
	// OnEvict(pool, Closed)
	// keyedcache: closed
}

// A cache's Stats can be published with the standard library's expvar (at
// /debug/vars when net/http serves expvar's handler), read afresh at each
// request, in one line; the adapters/promstats and adapters/otelstats
// modules export them to Prometheus and OpenTelemetry.
func Example_expvar() {
	c, _ := keyedcache.New(func(_ context.Context, k string) (int, error) { return len(k), nil }, nil)
	defer c.Close()
	expvar.Publish("templates", expvar.Func(func() any { return c.Stats() }))

	c.Get(context.Background(), "a")
	c.Get(context.Background(), "a")
	var s keyedcache.Stats
	json.Unmarshal([]byte(expvar.Get("templates").String()), &s)
	fmt.Printf("hits %d, misses %d, entries %d\n", s.Hits, s.Misses, s.Entries)
	// Output:
	// hits 1, misses 1, entries 1
}
