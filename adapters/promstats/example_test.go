package promstats_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/promstats"
	"github.com/reuse-go/reuse/keyedcache"
)

// NewCollector makes a Collector to register with a Prometheus registry,
// which reads the cache's Stats each time it is scraped. In a program the
// registry is served by promhttp.HandlerFor.
func ExampleNewCollector() {
	lengths, err := keyedcache.New(func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer lengths.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(promstats.NewCollector("lengths", lengths, nil))

	for _, s := range []string{"a", "bb", "a", "a"} {
		lengths.Get(context.Background(), s)
	}
	text, err := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain, "reuse_cache_hits_total", "reuse_cache_entries")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(text))
	// Output:
	// # HELP reuse_cache_entries Live values in the cache.
	// # TYPE reuse_cache_entries gauge
	// reuse_cache_entries{cache_name="lengths"} 2
	// # HELP reuse_cache_hits_total Gets that found a live value.
	// # TYPE reuse_cache_hits_total counter
	// reuse_cache_hits_total{cache_name="lengths"} 2
}

// The OpenAI adapter's Clients is a StatsSource too.
func ExampleNewCollector_openai() {
	clients, err := openai.New(&openai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()
	collector := promstats.NewCollector("openai", clients, &promstats.Options{
		ConstLabels: prometheus.Labels{"service": "summarizer"},
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector)

	cfg := openai.Config{APIKey: "sk-example", BaseURL: "http://127.0.0.1:8080/v1"}
	for range 3 {
		clients.Get(cfg) // one client, built once and shared
	}
	text, err := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain, "reuse_cache_misses_total")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(text))
	// Output:
	// # HELP reuse_cache_misses_total Gets that found no live value, shared ones included.
	// # TYPE reuse_cache_misses_total counter
	// reuse_cache_misses_total{cache_name="openai",service="summarizer"} 1
}
