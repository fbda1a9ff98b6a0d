package keyedcache

import "time"

// Stats is a snapshot of a cache's counters, from [KeyedCache.Stats]. The
// counters start at zero when the cache is created and only grow.
type Stats struct {
	// Hits and Misses count the Gets that found a live value and those that
	// did not. Gets after Close, and Peeks, count in neither.
	Hits, Misses uint64
	// Loads counts the Loader calls that returned a value; LoadErrors those
	// that returned an error, panicked or called runtime.Goexit.
	Loads, LoadErrors uint64
	// Shared counts the Gets that joined a load already in flight instead of
	// starting one. They are counted in Misses too.
	Shared uint64
	// Evictions counts the values removed to respect Options.MaxEntries.
	Evictions uint64
	// Expirations counts the values removed because their TTL passed.
	Expirations uint64
	// LoadTime is the total time spent in the Loader, over all its calls.
	LoadTime time.Duration
	// Entries is the number of live values at the time of the snapshot.
	Entries int
	// Refreshes counts the background reloads started by
	// Options.RefreshAfter. Their Loader calls count in Loads or LoadErrors.
	Refreshes uint64
	// AwaitingRelease is the number of values that left the cache while
	// leased (see KeyedCache.Acquire) and whose OnEvict waits for their
	// last lease to be released.
	AwaitingRelease int
}

// HitRatio returns Hits / (Hits + Misses), or 0 when both are 0.
func (s Stats) HitRatio() float64 {
	total := s.Hits + s.Misses
	if total == 0 {
		return 0
	}
	return float64(s.Hits) / float64(total)
}

// counters are the Stats kept under the cache's lock. Hits on the lock-free
// path are counted in the stripes instead (see stripe.go).
type counters struct {
	hits, misses, loads, loadErrors, shared, evictions, expirations, refreshes uint64
	loadTime                                                                   time.Duration
}
