package keyedcache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/reuse-go/reuse/keyedcache"
)

// A Template stands for anything expensive to build and safe to share.
type Template struct{ text string }

func Example() {
	builds := 0
	templates, err := keyedcache.New(func(ctx context.Context, name string) (*Template, error) {
		builds++ // the loader runs once per key, however many goroutines ask
		return &Template{text: "Hello, " + strings.ToUpper(name)}, nil
	}, nil)
	if err != nil {
		panic(err)
	}
	defer templates.Close()

	ctx := context.Background()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { templates.Get(ctx, "world") })
	}
	wg.Wait()
	t, _ := templates.Get(ctx, "world")
	fmt.Println(t.text)
	fmt.Println("builds:", builds)
	// Output:
	// Hello, WORLD
	// builds: 1
}

func ExampleNew() {
	sizes, err := keyedcache.New(func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	}, &keyedcache.Options[string, int]{MaxEntries: 100, TTL: time.Hour})
	if err != nil {
		panic(err)
	}
	defer sizes.Close()
	n, err := sizes.Get(context.Background(), "hello")
	fmt.Println(n, err)

	_, err = keyedcache.New(func(ctx context.Context, s string) (int, error) { return 0, nil },
		&keyedcache.Options[string, int]{MaxEntries: -1})
	fmt.Println(err)
	// Output:
	// 5 <nil>
	// keyedcache: Options.MaxEntries is -1; want 0 (unbounded) or more
}

func ExampleKeyedCache_Get() {
	attempts := 0
	c, _ := keyedcache.New(func(ctx context.Context, host string) (string, error) {
		attempts++
		if attempts == 1 {
			return "", fmt.Errorf("dial %s: connection refused", host)
		}
		return "conn to " + host, nil
	}, nil)
	defer c.Close()

	ctx := context.Background()
	_, err := c.Get(ctx, "db:5432")
	fmt.Println("first:", err)
	v, err := c.Get(ctx, "db:5432") // errors are not cached: this loads again
	fmt.Println("second:", v, err)
	// Output:
	// first: dial db:5432: connection refused
	// second: conn to db:5432 <nil>
}

// An LRU bound, a TTL and an eviction callback together.
func ExampleOptions() {
	opts := &keyedcache.Options[string, string]{
		MaxEntries: 2,
		TTL:        10 * time.Minute,
		OnEvict: func(key, value string, reason keyedcache.Reason) {
			fmt.Printf("evict %s (%v)\n", key, reason)
		},
	}
	c, _ := keyedcache.New(func(ctx context.Context, k string) (string, error) {
		return "value of " + k, nil
	}, opts)
	ctx := context.Background()
	c.Get(ctx, "a")
	c.Get(ctx, "b")
	c.Get(ctx, "a") // a is now the most recently used
	c.Get(ctx, "c") // evicts b, the least recently used
	fmt.Println(c.Keys())
	c.Delete("a")
	c.Close()
	// Output:
	// evict b (Evicted)
	// [a c]
	// evict a (Deleted)
	// evict c (Closed)
}

func ExampleKeyedCache_Stats() {
	c, _ := keyedcache.New(func(ctx context.Context, k int) (int, error) { return k * k, nil }, nil)
	defer c.Close()
	ctx := context.Background()
	for _, k := range []int{1, 2, 1, 1, 3, 2} {
		c.Get(ctx, k)
	}
	s := c.Stats()
	fmt.Printf("hits %d, misses %d, loads %d, entries %d, hit ratio %.2f\n",
		s.Hits, s.Misses, s.Loads, s.Entries, s.HitRatio())
	// Output:
	// hits 3, misses 3, loads 3, entries 3, hit ratio 0.50
}

func ExampleKeyedCache_Peek() {
	c, _ := keyedcache.New(func(ctx context.Context, k string) (int, error) { return len(k), nil }, nil)
	defer c.Close()
	_, ok := c.Peek("abc") // Peek never loads
	fmt.Println(ok)
	c.Get(context.Background(), "abc")
	fmt.Println(c.Peek("abc"))
	// Output:
	// false
	// 3 true
}

func ExampleKeyedCache_Clear() {
	c, _ := keyedcache.New(func(ctx context.Context, k string) (string, error) {
		return k + "@v1", nil
	}, &keyedcache.Options[string, string]{
		OnEvict: func(k, v string, r keyedcache.Reason) { fmt.Println("evict", v, r) },
	})
	defer c.Close()
	c.Get(context.Background(), "config")
	c.Clear() // every callback for what Clear removed has run when it returns
	fmt.Println("len", c.Len())
	// Output:
	// evict config@v1 Cleared
	// len 0
}

func ExamplePanicError() {
	c, _ := keyedcache.New(func(ctx context.Context, k string) (int, error) {
		panic("bad key " + k)
	}, nil)
	defer c.Close()
	_, err := c.Get(context.Background(), "x")
	var pe *keyedcache.PanicError
	fmt.Println(err)
	fmt.Println(errors.As(err, &pe), len(pe.Stack) > 0)
	// Output:
	// keyedcache: loader panicked: bad key x
	// true true
}
