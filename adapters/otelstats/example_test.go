package otelstats_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/otelstats"
	"github.com/reuse-go/reuse/keyedcache"
)

// printSums collects rd and prints the named metrics' values.
func printSums(rd sdkmetric.Reader, names ...string) {
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	values := map[string]any{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				values[m.Name] = d.DataPoints[0].Value
			case metricdata.Sum[float64]:
				values[m.Name] = d.DataPoints[0].Value
			}
		}
	}
	for _, name := range names {
		fmt.Println(name, values[name])
	}
}

// Register reports a cache's Stats each time the meter's reader collects.
// In a program the reader is an exporter's, such as a periodic OTLP reader.
func ExampleRegister() {
	rd := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)

	lengths, err := keyedcache.New(func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer lengths.Close()

	reg, err := otelstats.Register(meter, "lengths", lengths, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	for _, s := range []string{"a", "bb", "a", "a"} {
		lengths.Get(context.Background(), s)
	}
	printSums(rd, "reuse.cache.hits", "reuse.cache.misses", "reuse.cache.loads", "reuse.cache.entries")
	// Output:
	// reuse.cache.hits 2
	// reuse.cache.misses 2
	// reuse.cache.loads 2
	// reuse.cache.entries 2
}

// The OpenAI adapter's Clients is a StatsSource too.
func ExampleRegister_openai() {
	rd := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd)).Meter(otelstats.ScopeName)

	clients, err := openai.New(&openai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()
	if _, err := otelstats.Register(meter, "openai", clients, nil); err != nil {
		log.Fatal(err)
	}

	cfg := openai.Config{APIKey: "sk-example", BaseURL: "http://127.0.0.1:8080/v1"}
	for range 3 {
		clients.Get(cfg) // one client, built once and shared
	}
	printSums(rd, "reuse.cache.hits", "reuse.cache.misses", "reuse.cache.entries")
	// Output:
	// reuse.cache.hits 2
	// reuse.cache.misses 1
	// reuse.cache.entries 1
}
