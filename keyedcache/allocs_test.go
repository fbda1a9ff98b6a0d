package keyedcache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestHitDoesNotAllocate holds the zero-allocation promise of the hit path,
// with and without a bound and a TTL.
func TestHitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, opts := range []*Options[string, *int]{
		nil,
		{MaxEntries: 100},
		{TTL: time.Hour},
		{MaxEntries: 100, TTL: time.Hour, OnEvict: func(string, *int, Reason) {}},
	} {
		t.Run(optsName(opts), func(t *testing.T) {
			c := newCache(t, func(_ context.Context, k string) (*int, error) { n := len(k); return &n, nil }, opts)
			ctx := context.Background()
			keys := []string{"tenant-00001/model=gpt-4o-mini/region=eu", "b", "c"}
			for _, k := range keys {
				c.Get(ctx, k)
			}
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				// More hits than a recency buffer holds, so drains count too.
				if _, err := c.Get(ctx, keys[i%len(keys)]); err != nil {
					t.Fatal(err)
				}
				i++
			})
			if allocs != 0 {
				t.Errorf("a hit allocates %v times, want 0", allocs)
			}
		})
	}
}

// optsName names a table row by its options.
func optsName(o *Options[string, *int]) string {
	if o == nil {
		return "nil"
	}
	return fmt.Sprintf("MaxEntries=%d/TTL=%v", o.MaxEntries, o.TTL)
}
