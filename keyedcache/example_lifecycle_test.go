package keyedcache_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/reuse-go/reuse/keyedcache"
)

// A Pool stands for a value that must be closed when the cache drops it.
type Pool struct {
	tenant string
	closed bool
}

func (p *Pool) Query() string {
	if p.closed {
		return "error: pool closed"
	}
	return "rows from " + p.tenant
}

func ExampleKeyedCache_Acquire() {
	pools, err := keyedcache.New(func(ctx context.Context, tenant string) (*Pool, error) {
		return &Pool{tenant: tenant}, nil
	}, &keyedcache.Options[string, *Pool]{
		MaxEntries: 1,
		OnEvict: func(tenant string, p *Pool, why keyedcache.Reason) {
			p.closed = true
			fmt.Println("closed the pool of", tenant+":", why)
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	a, release, err := pools.Acquire(ctx, "acme")
	if err != nil {
		panic(err)
	}
	// Loading another tenant evicts acme's pool, but acme's lease keeps it
	// open until it is released.
	pools.Get(ctx, "globex")
	fmt.Println(a.Query())
	fmt.Println("awaiting release:", pools.Stats().AwaitingRelease)
	release()
	release() // a second call does nothing
	fmt.Println("awaiting release:", pools.Stats().AwaitingRelease)
	pools.Close()
	// Output:
	// rows from acme
	// awaiting release: 1
	// closed the pool of acme: Evicted
	// awaiting release: 0
	// closed the pool of globex: Closed
}

func ExampleKeyedCache_Set() {
	loads := 0
	prices, err := keyedcache.New(func(ctx context.Context, item string) (int, error) {
		loads++
		return 100, nil
	}, &keyedcache.Options[string, int]{
		OnEvict: func(item string, price int, why keyedcache.Reason) {
			fmt.Printf("dropped %s=%d: %v\n", item, price, why)
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	prices.Set("tea", 3) // as if loaded now: Get finds it
	p, _ := prices.Get(ctx, "tea")
	fmt.Println("tea:", p, "loads:", loads)
	prices.Set("tea", 4) // replaces the live value
	p, _ = prices.Get(ctx, "tea")
	fmt.Println("tea:", p, "loads:", loads)

	prices.Close()
	fmt.Println(prices.Set("tea", 5))
	// Output:
	// tea: 3 loads: 0
	// dropped tea=3: Replaced
	// tea: 4 loads: 0
	// dropped tea=4: Closed
	// keyedcache: closed
}

func ExampleKeyedCache_All() {
	lengths, err := keyedcache.New(func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	}, &keyedcache.Options[string, int]{MaxEntries: 10})
	if err != nil {
		panic(err)
	}
	defer lengths.Close()
	ctx := context.Background()
	for _, s := range []string{"a", "bb", "ccc", "a"} {
		lengths.Get(ctx, s)
	}
	// Least recently used first, as Keys lists them; All changes nothing,
	// and the loop body may call the cache.
	for s, n := range lengths.All() {
		fmt.Println(s, n)
		if s == "bb" {
			lengths.Delete("bb")
		}
	}
	fmt.Println(lengths.Keys())
	// Output:
	// bb 2
	// ccc 3
	// a 1
	// [ccc a]
}

// A Token carries its own lifetime, as an OAuth token's expires_in does.
type Token struct {
	value     string
	expiresIn time.Duration
}

func ExampleOptions_expireAfter() {
	issued := 0
	tokens, err := keyedcache.New(func(ctx context.Context, scope string) (Token, error) {
		issued++
		if scope == "once" {
			return Token{fmt.Sprintf("%s-%d", scope, issued), 0}, nil
		}
		return Token{fmt.Sprintf("%s-%d", scope, issued), time.Hour}, nil
	}, &keyedcache.Options[string, Token]{
		// Each token lives as long as it says, less a margin; a lifetime <= 0
		// means expired at once: the caller gets the token, the cache keeps
		// nothing.
		ExpireAfter: func(scope string, t Token) time.Duration {
			return t.expiresIn - time.Minute
		},
		OnEvict: func(scope string, t Token, why keyedcache.Reason) {
			fmt.Println("dropped", t.value+":", why)
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	for range 2 {
		t, _ := tokens.Get(ctx, "read")
		fmt.Println("got", t.value)
	}
	for range 2 {
		t, _ := tokens.Get(ctx, "once")
		fmt.Println("got", t.value)
	}
	fmt.Println("kept:", tokens.Keys())
	tokens.Close()
	// Output:
	// got read-1
	// got read-1
	// dropped once-2: Expired
	// got once-2
	// dropped once-3: Expired
	// got once-3
	// kept: [read]
	// dropped read-1: Closed
}

func Example_refreshAfter() {
	var mu sync.Mutex
	version := 0
	refreshed := make(chan struct{})
	reload := make(chan struct{}) // lets the reload finish; for the output's order
	configs, err := keyedcache.New(func(ctx context.Context, name string) (string, error) {
		mu.Lock()
		version++
		v := version
		mu.Unlock()
		if v > 1 {
			<-reload
		}
		return fmt.Sprintf("%s v%d", name, v), nil
	}, &keyedcache.Options[string, string]{
		RefreshAfter: time.Millisecond,
		OnEvict: func(name, old string, why keyedcache.Reason) {
			if why == keyedcache.Replaced {
				fmt.Println("replaced", old)
				close(refreshed)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	defer configs.Close()
	ctx := context.Background()

	c, _ := configs.Get(ctx, "app")
	fmt.Println("got", c)
	time.Sleep(2 * time.Millisecond)
	// The value is older than RefreshAfter: Get returns it at once and
	// reloads it in the background.
	c, _ = configs.Get(ctx, "app")
	fmt.Println("got", c)
	close(reload)
	<-refreshed
	c, _ = configs.Peek("app")
	fmt.Println("now", c)
	fmt.Println("refreshes:", configs.Stats().Refreshes)
	// Output:
	// got app v1
	// got app v1
	// replaced app v1
	// now app v2
	// refreshes: 1
}
