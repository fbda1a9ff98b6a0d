package otelstats

import (
	"context"
	"errors"
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/reuse-go/reuse/keyedcache"
)

// ScopeName is this package's import path, the instrumentation scope name
// to give to [metric.MeterProvider.Meter] for the meter passed to
// [Register].
const ScopeName = "github.com/reuse-go/reuse/adapters/otelstats"

// AttributeCacheName is the key of the attribute that carries the cache's
// name on every measurement.
const AttributeCacheName attribute.Key = "cache.name"

// ErrNilSource is returned by [Register] when its StatsSource is nil.
var ErrNilSource = errors.New("otelstats: nil StatsSource")

// StatsSource is what Register reads: *[keyedcache.KeyedCache] of any type
// arguments, *openai.Clients, or anything else that reports
// [keyedcache.Stats]. Stats must be safe to call from any goroutine.
type StatsSource interface {
	Stats() keyedcache.Stats
}

// Options configures [Register]. A nil *Options means the defaults.
type Options struct {
	// Attributes are added to the cache.name attribute on every
	// measurement, for example to tell apart processes or tenants.
	Attributes []attribute.KeyValue
}

// Register creates the instruments listed in the package documentation on
// meter and registers one callback for all of them that reads src.Stats
// once per collection and reports each field with the attribute cache.name
// set to name. Call Unregister on the returned Registration to stop
// reporting, for example when the cache is closed.
//
// Register may be called for several caches on the same meter, each with
// its own name; they share the instruments. It returns [ErrNilSource] if
// src is nil, and the meter's errors if it rejects an instrument or the
// callback, in which case nothing is registered.
func Register(meter metric.Meter, name string, src StatsSource, opts *Options) (metric.Registration, error) {
	if src == nil {
		return nil, ErrNilSource
	}
	if meter == nil {
		return nil, errors.New("otelstats: nil Meter")
	}
	attrs := []attribute.KeyValue{AttributeCacheName.String(name)}
	if opts != nil {
		attrs = append(attrs, opts.Attributes...)
	}
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))

	ins, err := newInstruments(meter)
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		ins.observe(o, src.Stats(), set)
		return nil
	}, ins.all()...)
}

// instruments holds one instrument per Stats field.
type instruments struct {
	hits, misses, shared, loads, loadErrors, refreshes metric.Int64ObservableCounter
	evictions, expirations                             metric.Int64ObservableCounter
	loadTime                                           metric.Float64ObservableCounter
	entries, awaitingRelease                           metric.Int64ObservableUpDownCounter
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	upDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	ins := &instruments{
		hits:        counter("reuse.cache.hits", "{request}", "Gets that found a live value."),
		misses:      counter("reuse.cache.misses", "{request}", "Gets that found no live value, shared ones included."),
		shared:      counter("reuse.cache.shared", "{request}", "Gets that joined a load already in flight."),
		loads:       counter("reuse.cache.loads", "{load}", "Loader calls that returned a value."),
		loadErrors:  counter("reuse.cache.load_errors", "{load}", "Loader calls that returned an error, panicked or exited."),
		refreshes:   counter("reuse.cache.refreshes", "{load}", "Background reloads started by RefreshAfter."),
		evictions:   counter("reuse.cache.evictions", "{entry}", "Values removed to respect MaxEntries."),
		expirations: counter("reuse.cache.expirations", "{entry}", "Values removed because their lifetime passed."),
		entries:     upDown("reuse.cache.entries", "{entry}", "Live values in the cache."),
		awaitingRelease: upDown("reuse.cache.awaiting_release", "{entry}",
			"Values removed while leased whose OnEvict waits for their last release."),
	}
	var err error
	ins.loadTime, err = m.Float64ObservableCounter("reuse.cache.load_time",
		metric.WithUnit("s"), metric.WithDescription("Total time spent in the Loader."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ins, nil
}

func (ins *instruments) all() []metric.Observable {
	return []metric.Observable{
		ins.hits, ins.misses, ins.shared, ins.loads, ins.loadErrors, ins.refreshes,
		ins.evictions, ins.expirations, ins.loadTime, ins.entries, ins.awaitingRelease,
	}
}

func (ins *instruments) observe(o metric.Observer, s keyedcache.Stats, set metric.ObserveOption) {
	o.ObserveInt64(ins.hits, clamp(s.Hits), set)
	o.ObserveInt64(ins.misses, clamp(s.Misses), set)
	o.ObserveInt64(ins.shared, clamp(s.Shared), set)
	o.ObserveInt64(ins.loads, clamp(s.Loads), set)
	o.ObserveInt64(ins.loadErrors, clamp(s.LoadErrors), set)
	o.ObserveInt64(ins.refreshes, clamp(s.Refreshes), set)
	o.ObserveInt64(ins.evictions, clamp(s.Evictions), set)
	o.ObserveInt64(ins.expirations, clamp(s.Expirations), set)
	o.ObserveFloat64(ins.loadTime, s.LoadTime.Seconds(), set)
	o.ObserveInt64(ins.entries, int64(s.Entries), set)
	o.ObserveInt64(ins.awaitingRelease, int64(s.AwaitingRelease), set)
}

// clamp converts a counter to the int64 that OpenTelemetry's integer
// instruments take, saturating instead of wrapping negative.
func clamp(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}
