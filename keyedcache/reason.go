package keyedcache

import "strconv"

// A Reason says why a value left the cache; see [Options.OnEvict].
type Reason int

// The reasons a value leaves the cache.
const (
	// Evicted: removed to respect Options.MaxEntries.
	Evicted Reason = iota + 1
	// Expired: its Options.TTL passed.
	Expired
	// Deleted: removed by KeyedCache.Delete.
	Deleted
	// Cleared: removed by KeyedCache.Clear.
	Cleared
	// Closed: removed by KeyedCache.Close.
	Closed
	// Replaced: a newer value for the key took its place (KeyedCache.Set,
	// or a refresh started by Options.RefreshAfter).
	Replaced
)

var reasonNames = [...]string{Evicted: "Evicted", Expired: "Expired", Deleted: "Deleted", Cleared: "Cleared", Closed: "Closed", Replaced: "Replaced"}

// String returns the constant's name, such as "Evicted", or "Reason(N)" for
// a value that is not one of them.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}
