package main

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestRun runs the demonstration in a synctest bubble, where time is fake:
// every goroutine of the burst asks before any build finishes, so the whole
// output is exact.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), &out, 20*time.Millisecond, time.Second, synctest.Wait); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		want := `1. 100 goroutines ask for the pools of 2 databases at once:
  2 pools built, one per address: the other 98 Gets were served by those builds
  (98 waited for a build already in flight, 0 found a pool ready)
2. a pool in use is never closed under its user:
  db-eu was evicted while leased: cached now [db-us:5432 db-ap:5432], db-eu closed: false, awaiting release: 1
  OnEvict: closed db-eu:5432 build 1 (Evicted)
  after release, db-eu closed: true
3. after 500ms, a Get returns the pool at once and rebuilds it in the background:
  the Get returned build 1
  OnEvict: closed db-us:5432 build 1 (Replaced)
  the next Get returns build 2
4. a pool not asked for again expires with its credentials (1s):
  OnEvict: closed db-ap:5432 build 1 (Expired)
  db-ap:5432 is now build 2
5. statistics:
  106 Gets: 4 hits, 102 misses; 98 of the misses waited for a build in flight, so 5 builds ran
  (1 of them refreshes); hit ratio 0.04 counts only Gets that found a pool ready
  evictions 1, expirations 1, pools cached 2
6. Close closes what is left:
  OnEvict: closed db-us:5432 build 2 (Closed)
  OnEvict: closed db-ap:5432 build 2 (Closed)
`
		if got := out.String(); got != want {
			t.Errorf("output:\n%s\nwant:\n%s", got, want)
		}
	})
}
