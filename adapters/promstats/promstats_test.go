package promstats_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/promstats"
	"github.com/reuse-go/reuse/keyedcache"
)

// Both kinds of source the package documents.
var (
	_ promstats.StatsSource = (*keyedcache.KeyedCache[string, int])(nil)
	_ promstats.StatsSource = (*openai.Clients)(nil)
)

// exposition returns the text format that a Collector for cache name with
// stats s and the extra labels (`,key="value"`...) must produce.
func exposition(name, extra string, s keyedcache.Stats) string {
	var b strings.Builder
	line := func(metric, typ, help string, v any) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s{cache_name=%q%s} %v\n", metric, help, metric, typ, metric, name, extra, v)
	}
	line("reuse_cache_awaiting_release", "gauge", "Values removed while leased whose OnEvict waits for their last release.", s.AwaitingRelease)
	line("reuse_cache_entries", "gauge", "Live values in the cache.", s.Entries)
	line("reuse_cache_evictions_total", "counter", "Values removed to respect MaxEntries.", s.Evictions)
	line("reuse_cache_expirations_total", "counter", "Values removed because their lifetime passed.", s.Expirations)
	line("reuse_cache_hits_total", "counter", "Gets that found a live value.", s.Hits)
	line("reuse_cache_load_errors_total", "counter", "Loader calls that returned an error, panicked or exited.", s.LoadErrors)
	line("reuse_cache_load_seconds_total", "counter", "Total time spent in the Loader.", s.LoadTime.Seconds())
	line("reuse_cache_loads_total", "counter", "Loader calls that returned a value.", s.Loads)
	line("reuse_cache_misses_total", "counter", "Gets that found no live value, shared ones included.", s.Misses)
	line("reuse_cache_refreshes_total", "counter", "Background reloads started by RefreshAfter.", s.Refreshes)
	line("reuse_cache_shared_total", "counter", "Gets that joined a load already in flight.", s.Shared)
	return b.String()
}

// fixed is a StatsSource that returns s and counts its calls.
type fixed struct {
	s     keyedcache.Stats
	calls atomic.Int64
}

func (f *fixed) Stats() keyedcache.Stats { f.calls.Add(1); return f.s }

// TestFields gives every field a distinct value, so that a field reported
// under another's name cannot pass.
func TestFields(t *testing.T) {
	src := &fixed{s: keyedcache.Stats{
		Hits: 1, Misses: 2, Loads: 3, LoadErrors: 4, Shared: 5, Evictions: 6, Expirations: 7,
		LoadTime: 8500 * time.Millisecond, Entries: 9, Refreshes: 10, AwaitingRelease: 11,
	}}
	c := promstats.NewCollector("fixed", src, nil)
	if n := src.calls.Load(); n != 0 {
		t.Errorf("Stats called %d times before any Collect, want 0", n)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(exposition("fixed", "", src.s))); err != nil {
		t.Error(err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("Stats called %d times for one Collect, want 1", n)
	}
	if n := testutil.CollectAndCount(c); n != 11 {
		t.Errorf("CollectAndCount = %d, want 11", n)
	}
}

func TestLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(promstats.NewCollector("lint", &fixed{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestKeyedCache drives a real cache through known operations, in a
// synctest bubble so that LoadTime is exact, and checks every field.
func TestKeyedCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const loadTime = 10 * time.Millisecond
		errBad := errors.New("bad key")
		c, err := keyedcache.New(func(ctx context.Context, key string) (int, error) {
			time.Sleep(loadTime)
			if key == "bad" {
				return 0, errBad
			}
			return len(key), nil
		}, &keyedcache.Options[string, int]{MaxEntries: 2, TTL: time.Hour, RefreshAfter: 30 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()

		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(promstats.NewCollector("sizes", c, nil)); err != nil {
			t.Fatal(err)
		}
		compare := func(want keyedcache.Stats) {
			t.Helper()
			if err := testutil.GatherAndCompare(reg, strings.NewReader(exposition("sizes", "", want))); err != nil {
				t.Error(err)
			}
		}
		compare(keyedcache.Stats{})

		ctx := context.Background()
		get := func(key string) {
			if _, err := c.Get(ctx, key); err != nil && !errors.Is(err, errBad) {
				t.Errorf("Get(%q): %v", key, err)
			}
		}
		get("a")   // miss, load
		get("a")   // hit
		get("bad") // miss, load error
		get("b")   // miss, load
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { get("c") }) // two misses, one load, one shared; evicts "a"
		}
		wg.Wait()
		want := keyedcache.Stats{
			Hits: 1, Misses: 5, Loads: 3, LoadErrors: 1, Shared: 1, Evictions: 1,
			LoadTime: 4 * loadTime, Entries: 2,
		}
		compare(want)

		time.Sleep(2 * time.Hour) // "b" and "c" expire
		get("d")                  // miss, load
		want.Misses, want.Loads, want.Expirations, want.LoadTime, want.Entries = 6, 4, 2, 5*loadTime, 1
		compare(want)
		if s := c.Stats(); s != want {
			t.Errorf("Stats() = %+v, want %+v", s, want)
		}

		time.Sleep(31 * time.Minute)
		get("d")        // a hit on a value past RefreshAfter: a refresh
		synctest.Wait() // its load is under way, sleeping
		time.Sleep(loadTime)
		synctest.Wait() // and done: the new "d" replaced the old one
		_, release, err := c.Acquire(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		c.Delete("d") // leased: its OnEvict waits for the release
		want.Hits, want.Refreshes, want.Loads, want.LoadTime, want.Entries, want.AwaitingRelease = 3, 1, 5, 6*loadTime, 0, 1
		compare(want)
		release()
		want.AwaitingRelease = 0
		compare(want)
	})
}

// TestOpenAIClients reads the stats of the OpenAI adapter's Clients.
func TestOpenAIClients(t *testing.T) {
	clients, err := openai.New(&openai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer clients.Close()
	c := promstats.NewCollector("openai", clients, nil)
	for _, key := range []string{"sk-1", "sk-1", "sk-2"} {
		if _, err := clients.Get(openai.Config{APIKey: key, BaseURL: "http://127.0.0.1:1/v1"}); err != nil {
			t.Fatal(err)
		}
	}
	want := clients.Stats()
	if want.Hits != 1 || want.Misses != 2 || want.Loads != 2 || want.Entries != 2 {
		t.Errorf("Stats() = %+v, want 1 hit, 2 misses, 2 loads, 2 entries", want)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(exposition("openai", "", want))); err != nil {
		t.Error(err)
	}
}

// TestSeveralCaches registers two Collectors with one registry: they are
// told apart by cache_name and the extra labels.
func TestSeveralCaches(t *testing.T) {
	one := &fixed{s: keyedcache.Stats{Hits: 1, Entries: 1}}
	two := &fixed{s: keyedcache.Stats{Hits: 2, Entries: 2}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promstats.NewCollector("one", one, &promstats.Options{ConstLabels: prometheus.Labels{"region": "eu"}}))
	reg.MustRegister(promstats.NewCollector("two", two, &promstats.Options{ConstLabels: prometheus.Labels{"region": "eu"}}))
	if err := reg.Register(promstats.NewCollector("one", &fixed{}, &promstats.Options{ConstLabels: prometheus.Labels{"region": "eu"}})); err == nil {
		t.Errorf("registering a second Collector named one: nil error, want one")
	}
	if err := reg.Register(promstats.NewCollector("three", &fixed{}, nil)); err == nil {
		t.Errorf("registering a Collector without the others' label region: nil error, want one")
	}
	want := `
# HELP reuse_cache_hits_total Gets that found a live value.
# TYPE reuse_cache_hits_total counter
reuse_cache_hits_total{cache_name="one",region="eu"} 1
reuse_cache_hits_total{cache_name="two",region="eu"} 2
# HELP reuse_cache_entries Live values in the cache.
# TYPE reuse_cache_entries gauge
reuse_cache_entries{cache_name="one",region="eu"} 1
reuse_cache_entries{cache_name="two",region="eu"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "reuse_cache_hits_total", "reuse_cache_entries"); err != nil {
		t.Error(err)
	}
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name string
		c    *promstats.Collector
		want error
	}{
		{"nil source", promstats.NewCollector("x", nil, nil), promstats.ErrNilSource},
		{"cache_name in ConstLabels", promstats.NewCollector("x", &fixed{},
			&promstats.Options{ConstLabels: prometheus.Labels{promstats.LabelCacheName: "y"}}), nil},
		{"reserved label name", promstats.NewCollector("x", &fixed{},
			&promstats.Options{ConstLabels: prometheus.Labels{"__reserved": "y"}}), nil},
	}
	for _, tt := range tests {
		err := prometheus.NewRegistry().Register(tt.c)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: Register = %v, want %v", tt.name, err, cmp.Or(tt.want, errors.New("an error")))
		}
	}
}
