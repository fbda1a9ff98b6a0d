// Package promstats exports the statistics of a [keyedcache.KeyedCache], or
// of anything else with a Stats method of the same type such as
// [openai.Clients], as Prometheus metrics.
//
// [NewCollector] returns a [prometheus.Collector] to register with a
// [prometheus.Registerer]:
//
//	prometheus.MustRegister(promstats.NewCollector("templates", cache, nil))
//
// # Metrics
//
// Every metric carries the constant label cache_name, set to the name given
// to NewCollector, plus any [Options.ConstLabels].
//
//	Name                                 Type     Stats field
//	reuse_cache_hits_total               counter  Hits
//	reuse_cache_misses_total             counter  Misses
//	reuse_cache_shared_total             counter  Shared (counted in misses too)
//	reuse_cache_loads_total              counter  Loads
//	reuse_cache_load_errors_total        counter  LoadErrors
//	reuse_cache_load_seconds_total       counter  LoadTime, in seconds
//	reuse_cache_refreshes_total          counter  Refreshes
//	reuse_cache_evictions_total          counter  Evictions
//	reuse_cache_expirations_total        counter  Expirations
//	reuse_cache_entries                  gauge    Entries
//	reuse_cache_awaiting_release         gauge    AwaitingRelease
//
// The hit ratio is a query away:
//
//	rate(reuse_cache_hits_total[5m])
//	  / (rate(reuse_cache_hits_total[5m]) + rate(reuse_cache_misses_total[5m]))
//
// The names and the label are those that package otelstats in this
// repository gives through the OpenTelemetry Prometheus exporter, except
// reuse_cache_load_seconds_total, reuse_cache_load_time_seconds_total there.
//
// # Sources
//
// A [StatsSource] is anything with a Stats method returning
// [keyedcache.Stats]. Both *[keyedcache.KeyedCache] (for any key and value
// types) and *[openai.Clients] are one:
//
//	var (
//		_ promstats.StatsSource = (*keyedcache.KeyedCache[string, *Template])(nil)
//		_ promstats.StatsSource = (*openai.Clients)(nil)
//	)
//
// # Costs
//
// Nothing is done on the cache's hit path: Stats is read only when the
// registry is scraped, once per Collect for all eleven metrics.
//
// [openai.Clients]: https://pkg.go.dev/github.com/reuse-go/reuse/adapters/openai#Clients
package promstats
