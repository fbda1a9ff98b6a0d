package otelstats_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/otelstats"
	"github.com/reuse-go/reuse/keyedcache"
)

// Both kinds of source the package documents.
var (
	_ otelstats.StatsSource = (*keyedcache.KeyedCache[string, int])(nil)
	_ otelstats.StatsSource = (*openai.Clients)(nil)
)

// point is one collected data point.
type point struct {
	value     float64
	unit      string
	monotonic bool
	attrs     attribute.Set
}

// collect reads rd and returns its points keyed by metric name and the
// value of cache.name, as "reuse.cache.hits/name".
func collect(t *testing.T, rd *sdkmetric.ManualReader) map[string]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	got := map[string]point{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(attrs attribute.Set, v float64, monotonic bool, temporality metricdata.Temporality) {
				if temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: temporality %v, want cumulative", m.Name, temporality)
				}
				name, _ := attrs.Value(otelstats.AttributeCacheName)
				got[m.Name+"/"+name.AsString()] = point{v, m.Unit, monotonic, attrs}
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, float64(dp.Value), d.IsMonotonic, d.Temporality)
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes, dp.Value, d.IsMonotonic, d.Temporality)
				}
			default:
				t.Errorf("%s: data %T, want a Sum", m.Name, m.Data)
			}
		}
	}
	return got
}

// metric describes one instrument and the Stats field it reports.
type metricSpec struct {
	name      string
	unit      string
	monotonic bool
	field     func(keyedcache.Stats) float64
}

var metrics = []metricSpec{
	{"reuse.cache.hits", "{request}", true, func(s keyedcache.Stats) float64 { return float64(s.Hits) }},
	{"reuse.cache.misses", "{request}", true, func(s keyedcache.Stats) float64 { return float64(s.Misses) }},
	{"reuse.cache.shared", "{request}", true, func(s keyedcache.Stats) float64 { return float64(s.Shared) }},
	{"reuse.cache.loads", "{load}", true, func(s keyedcache.Stats) float64 { return float64(s.Loads) }},
	{"reuse.cache.load_errors", "{load}", true, func(s keyedcache.Stats) float64 { return float64(s.LoadErrors) }},
	{"reuse.cache.load_time", "s", true, func(s keyedcache.Stats) float64 { return s.LoadTime.Seconds() }},
	{"reuse.cache.refreshes", "{load}", true, func(s keyedcache.Stats) float64 { return float64(s.Refreshes) }},
	{"reuse.cache.evictions", "{entry}", true, func(s keyedcache.Stats) float64 { return float64(s.Evictions) }},
	{"reuse.cache.expirations", "{entry}", true, func(s keyedcache.Stats) float64 { return float64(s.Expirations) }},
	{"reuse.cache.entries", "{entry}", false, func(s keyedcache.Stats) float64 { return float64(s.Entries) }},
	{"reuse.cache.awaiting_release", "{entry}", false, func(s keyedcache.Stats) float64 { return float64(s.AwaitingRelease) }},
}

// check compares the points of cache name in got with want, field by field.
func check(t *testing.T, got map[string]point, name string, want keyedcache.Stats) {
	t.Helper()
	for _, m := range metrics {
		p, ok := got[m.name+"/"+name]
		if !ok {
			t.Errorf("%s{cache.name=%q}: missing", m.name, name)
			continue
		}
		if w := m.field(want); p.value != w {
			t.Errorf("%s{cache.name=%q} = %v, want %v", m.name, name, p.value, w)
		}
		if p.unit != m.unit || p.monotonic != m.monotonic {
			t.Errorf("%s: unit %q, monotonic %v; want %q, %v", m.name, p.unit, p.monotonic, m.unit, m.monotonic)
		}
	}
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
	rd := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)
	if _, err := otelstats.Register(meter, "fixed", src, nil); err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 0 {
		t.Errorf("Stats called %d times before any collection, want 0", n)
	}
	got := collect(t, rd)
	check(t, got, "fixed", src.s)
	if len(got) != len(metrics) {
		t.Errorf("collected %d points, want %d: %v", len(got), len(metrics), got)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("Stats called %d times for one collection, want 1", n)
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

		rd := sdkmetric.NewManualReader()
		meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)
		reg, err := otelstats.Register(meter, "sizes", c, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(t, collect(t, rd), "sizes", keyedcache.Stats{})

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
		check(t, collect(t, rd), "sizes", want)

		time.Sleep(2 * time.Hour) // "b" and "c" expire
		get("d")                  // miss, load
		want.Misses, want.Loads, want.Expirations, want.LoadTime, want.Entries = 6, 4, 2, 5*loadTime, 1
		check(t, collect(t, rd), "sizes", want)
		if s := c.Stats(); s != want {
			t.Errorf("Stats() = %+v, want %+v", s, want)
		}

		time.Sleep(31 * time.Minute)
		get("d")        // a hit on a value past RefreshAfter: a refresh
		synctest.Wait() // its load is under way, sleeping
		time.Sleep(loadTime)
		synctest.Wait() // and done: the new "d" replaced the old one
		_, release, err := c.Acquire(context.Background(), "d")
		if err != nil {
			t.Fatal(err)
		}
		c.Delete("d") // leased: its OnEvict waits for the release
		want.Hits, want.Refreshes, want.Loads, want.LoadTime, want.Entries, want.AwaitingRelease = 3, 1, 5, 6*loadTime, 0, 1
		check(t, collect(t, rd), "sizes", want)
		release()
		want.AwaitingRelease = 0
		check(t, collect(t, rd), "sizes", want)

		if err := reg.Unregister(); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, rd); len(got) != 0 {
			t.Errorf("after Unregister, collected %v, want nothing", got)
		}
	})
}

// TestOpenAIClients reads the stats of the OpenAI adapter's Clients.
func TestOpenAIClients(t *testing.T) {
	clients, err := openai.New(&openai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer clients.Close()
	rd := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)
	if _, err := otelstats.Register(meter, "openai", clients, nil); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"sk-1", "sk-1", "sk-2"} {
		if _, err := clients.Get(openai.Config{APIKey: key, BaseURL: "http://127.0.0.1:1/v1"}); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, rd)
	want := clients.Stats()
	if want.Hits != 1 || want.Misses != 2 || want.Loads != 2 || want.Entries != 2 {
		t.Errorf("Stats() = %+v, want 1 hit, 2 misses, 2 loads, 2 entries", want)
	}
	check(t, got, "openai", want)
}

// TestSeveralCaches registers two sources on one meter: they share the
// instruments and are told apart by cache.name and the extra attributes.
func TestSeveralCaches(t *testing.T) {
	rd := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)
	one := &fixed{s: keyedcache.Stats{Hits: 1, Entries: 1}}
	two := &fixed{s: keyedcache.Stats{Hits: 2, Entries: 2}}
	region := attribute.String("region", "eu")
	if _, err := otelstats.Register(meter, "one", one, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := otelstats.Register(meter, "two", two, &otelstats.Options{Attributes: []attribute.KeyValue{region}}); err != nil {
		t.Fatal(err)
	}
	got := collect(t, rd)
	check(t, got, "one", one.s)
	check(t, got, "two", two.s)
	attrsTwo, attrsOne := got["reuse.cache.hits/two"].attrs, got["reuse.cache.hits/one"].attrs
	if v, ok := attrsTwo.Value("region"); !ok || v.AsString() != "eu" {
		t.Errorf("two: region = %v, %v; want eu", v, ok)
	}
	if _, ok := attrsOne.Value("region"); ok {
		t.Errorf("one: has attribute region, want only cache.name")
	}
}

// TestLargeCounters saturates counters beyond int64 instead of wrapping.
func TestLargeCounters(t *testing.T) {
	rd := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)
	if _, err := otelstats.Register(meter, "big", &fixed{s: keyedcache.Stats{Hits: math.MaxUint64}}, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := collect(t, rd)["reuse.cache.hits/big"].value, float64(math.MaxInt64); got != want {
		t.Errorf("hits = %v, want %v", got, want)
	}
}

func TestRegisterErrors(t *testing.T) {
	meter := noop.NewMeterProvider().Meter(otelstats.ScopeName)
	if _, err := otelstats.Register(meter, "x", nil, nil); !errors.Is(err, otelstats.ErrNilSource) {
		t.Errorf("Register(nil source) = %v, want ErrNilSource", err)
	}
	var nilCache *keyedcache.KeyedCache[string, int]
	if _, err := otelstats.Register(nil, "x", nilCache, nil); err == nil {
		t.Errorf("Register(nil meter) = nil error, want one")
	}
	if _, err := otelstats.Register(meter, "x", &fixed{}, nil); err != nil {
		t.Errorf("Register on a noop meter: %v", err)
	}
}
