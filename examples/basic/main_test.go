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
		if err := run(context.Background(), &out, 20*time.Millisecond, 300*time.Millisecond); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		want := `1. 100 goroutines ask for the pools of 2 databases at once:
  pools built: 2, one per address; the other 98 Gets shared them
  (98 joined a build in flight, 0 found the pool ready)
2. a third database, with MaxEntries 2, evicts the least recently used pool:
  OnEvict: closed db-us:5432 build 1 (Evicted)
  cached now, least recently used first: [db-eu:5432 db-ap:5432]
3. after the TTL (300ms) every pool has expired; the next Get builds a new one:
  OnEvict: closed db-eu:5432 build 1 (Expired)
  OnEvict: closed db-ap:5432 build 1 (Expired)
  db-eu:5432 is now build 2
4. statistics:
  hits 1, misses 102 (of which 98 shared a build), loads 4
  evictions 1, expirations 2, entries 1, hit ratio 0.01
5. Close closes what is left:
  OnEvict: closed db-eu:5432 build 2 (Closed)
`
		if got := out.String(); got != want {
			t.Errorf("output:\n%s\nwant:\n%s", got, want)
		}
	})
}
