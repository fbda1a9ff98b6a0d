package keyedcache

import "strconv"

// A Policy chooses which value a cache bounded by [Options.MaxEntries]
// removes to make room for a new one.
type Policy int

const (
	// LRU evicts the least recently used value. The order is exact while
	// calls do not overlap. It is the zero value, and the default.
	LRU Policy = iota
	// TinyLFU is a window TinyLFU in the manner of Caffeine: a new value
	// enters a small LRU window; to move on into the main region, which is
	// a segmented LRU, it must as a rule have been asked for more often (by
	// a count-min sketch of recent accesses) than the value it would
	// replace (the package documentation gives the exceptions). The
	// window's size adapts to the workload. It gives higher hit ratios
	// than LRU where frequency matters or scans occur, at the price of an
	// order that is not exact LRU. It needs Options.MaxEntries.
	TinyLFU
)

// String returns the constant's name, or "Policy(N)".
func (p Policy) String() string {
	switch p {
	case LRU:
		return "LRU"
	case TinyLFU:
		return "TinyLFU"
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}
