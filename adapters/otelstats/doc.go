// Package otelstats exports the statistics of a [keyedcache.KeyedCache], or
// of anything else with a Stats method of the same type such as
// [openai.Clients], as OpenTelemetry metrics.
//
// [Register] creates one asynchronous instrument per [keyedcache.Stats]
// field on a [metric.Meter] and registers a single callback for all of
// them:
//
//	reg, err := otelstats.Register(meter, "templates", cache, nil)
//	if err != nil {
//		return err
//	}
//	defer reg.Unregister()
//
// # Metrics
//
// Every measurement carries the attribute cache.name, set to the name given
// to Register, plus any [Options.Attributes].
//
//	Name                          Instrument                    Unit       Stats field
//	reuse.cache.hits              Int64ObservableCounter        {request}  Hits
//	reuse.cache.misses            Int64ObservableCounter        {request}  Misses
//	reuse.cache.shared            Int64ObservableCounter        {request}  Shared (counted in misses too)
//	reuse.cache.loads             Int64ObservableCounter        {load}     Loads
//	reuse.cache.load_errors       Int64ObservableCounter        {load}     LoadErrors
//	reuse.cache.load_time         Float64ObservableCounter      s          LoadTime, in seconds
//	reuse.cache.refreshes         Int64ObservableCounter        {load}     Refreshes
//	reuse.cache.evictions         Int64ObservableCounter        {entry}    Evictions
//	reuse.cache.expirations       Int64ObservableCounter        {entry}    Expirations
//	reuse.cache.entries           Int64ObservableUpDownCounter  {entry}    Entries
//	reuse.cache.awaiting_release  Int64ObservableUpDownCounter  {entry}    AwaitingRelease
//
// The counters are cumulative and monotonic, as the Stats counters are. The
// two counts of values held now are asynchronous UpDownCounters rather than
// Gauges because they are additive: summed over caches they give the number
// of values held by all of them, as the OpenTelemetry guidelines ask for
// sizes.
//
// Exported through the OpenTelemetry Prometheus exporter, with its default
// translation of names, the metrics become reuse_cache_hits_total,
// reuse_cache_entries and so on, labelled cache_name (beside the exporter's
// otel_scope_* labels): the names and label of package promstats in this
// repository, but for the load time, which is
// reuse_cache_load_time_seconds_total here and
// reuse_cache_load_seconds_total there.
//
// # Sources
//
// A [StatsSource] is anything with a Stats method returning
// [keyedcache.Stats]. Both *[keyedcache.KeyedCache] (for any key and value
// types) and *[openai.Clients] are one:
//
//	var (
//		_ otelstats.StatsSource = (*keyedcache.KeyedCache[string, *Template])(nil)
//		_ otelstats.StatsSource = (*openai.Clients)(nil)
//	)
//
// # Costs
//
// Nothing is done on the cache's hit path: Stats is read only when the
// meter's reader collects, once per collection for all eleven instruments.
//
// [openai.Clients]: https://pkg.go.dev/github.com/reuse-go/reuse/adapters/openai#Clients
package otelstats
