package promstats

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reuse-go/reuse/keyedcache"
)

// LabelCacheName is the constant label that carries the cache's name on
// every metric.
const LabelCacheName = "cache_name"

// ErrNilSource is the error that registering a [Collector] made with a nil
// StatsSource returns.
var ErrNilSource = errors.New("promstats: nil StatsSource")

// StatsSource is what a Collector reads: *[keyedcache.KeyedCache] of any
// type arguments, *openai.Clients, or anything else that reports
// [keyedcache.Stats]. Stats must be safe to call from any goroutine.
type StatsSource interface {
	Stats() keyedcache.Stats
}

// Options configures [NewCollector]. A nil *Options means the defaults.
type Options struct {
	// ConstLabels are added to the cache_name label on every metric, for
	// example to tell apart tenants. They must not include cache_name.
	ConstLabels prometheus.Labels
}

// Collector is a [prometheus.Collector] that reports the [keyedcache.Stats]
// of one source as the metrics listed in the package documentation. It is
// safe for concurrent use, as Prometheus registries require.
type Collector struct {
	src   StatsSource
	descs [len(specs)]*prometheus.Desc // set by NewCollector, then read-only
}

// NewCollector returns a Collector that reads src.Stats once per Collect
// and labels every metric with cache_name set to name. Several Collectors
// may be registered with one registry if their names differ and their
// ConstLabels have the same keys, as Prometheus requires of metrics that
// share a name.
//
// NewCollector does not fail: a nil src, or ConstLabels that Prometheus
// rejects, make the registration of the Collector return the error
// ([ErrNilSource] for a nil src), as is the Prometheus way.
func NewCollector(name string, src StatsSource, opts *Options) *Collector {
	labels := prometheus.Labels{}
	if opts != nil {
		for k, v := range opts.ConstLabels {
			labels[k] = v
		}
	}
	_, dup := labels[LabelCacheName]
	labels[LabelCacheName] = name

	c := &Collector{src: src}
	for i, s := range specs {
		switch {
		case src == nil:
			c.descs[i] = prometheus.NewInvalidDesc(ErrNilSource)
		case dup:
			c.descs[i] = prometheus.NewInvalidDesc(errors.New("promstats: Options.ConstLabels has " + LabelCacheName + ", the label NewCollector sets"))
		default:
			c.descs[i] = prometheus.NewDesc(s.name, s.help, nil, labels)
		}
	}
	return c
}

// Describe sends the descriptors of the Collector's eleven metrics.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads the source's Stats once and sends the eleven metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var s keyedcache.Stats
	if c.src != nil {
		s = c.src.Stats()
	}
	for i, spec := range specs {
		m, err := prometheus.NewConstMetric(c.descs[i], spec.typ, spec.value(s))
		if err != nil {
			m = prometheus.NewInvalidMetric(c.descs[i], err)
		}
		ch <- m
	}
}

// spec describes one metric and the Stats field it reports.
type spec struct {
	name, help string
	typ        prometheus.ValueType
	value      func(keyedcache.Stats) float64
}

var specs = [...]spec{
	{"reuse_cache_hits_total", "Gets that found a live value.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Hits) }},
	{"reuse_cache_misses_total", "Gets that found no live value, shared ones included.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Misses) }},
	{"reuse_cache_shared_total", "Gets that joined a load already in flight.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Shared) }},
	{"reuse_cache_loads_total", "Loader calls that returned a value.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Loads) }},
	{"reuse_cache_load_errors_total", "Loader calls that returned an error, panicked or exited.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.LoadErrors) }},
	{"reuse_cache_load_seconds_total", "Total time spent in the Loader.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return s.LoadTime.Seconds() }},
	{"reuse_cache_refreshes_total", "Background reloads started by RefreshAfter.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Refreshes) }},
	{"reuse_cache_evictions_total", "Values removed to respect MaxEntries.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Evictions) }},
	{"reuse_cache_expirations_total", "Values removed because their lifetime passed.", prometheus.CounterValue,
		func(s keyedcache.Stats) float64 { return float64(s.Expirations) }},
	{"reuse_cache_entries", "Live values in the cache.", prometheus.GaugeValue,
		func(s keyedcache.Stats) float64 { return float64(s.Entries) }},
	{"reuse_cache_awaiting_release", "Values removed while leased whose OnEvict waits for their last release.", prometheus.GaugeValue,
		func(s keyedcache.Stats) float64 { return float64(s.AwaitingRelease) }},
}
