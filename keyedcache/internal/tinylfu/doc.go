// Package tinylfu is a window TinyLFU eviction policy, after Caffeine's:
// it decides which of a bounded set of nodes to evict, for an owner that
// keeps the nodes, embedded in its entries, and calls the policy under its
// own lock. The policy is not safe for concurrent use, does O(1) work per
// call and allocates only in New.
//
// # Design
//
// A new node enters a small LRU window (0.5% of the capacity at first, at
// least one node). The window's least recently used node then moves to the
// main space, a segmented LRU of a probation queue and a protected queue
// (80% of the main space), where a node on probation that is hit is promoted
// to protected, and protected nodes beyond its share are demoted to
// probation. When the policy is over capacity, the node leaving the window
// contends with the least recently used node on probation: the one whose key
// the frequency sketch says was requested less often recently is evicted,
// the incumbent winning ties. A warm candidate (frequency 6 or more) that
// loses still wins one time in 128, drawn from a generator seeded per
// policy, so that an attacker cannot keep every newcomer out by inflating a
// victim's counters.
//
// The frequency sketch is a count-min sketch of 4-bit counters, sixteen per
// unit of capacity (one 64-bit word, the table rounded up to a power of
// two), with the four counters of a key in one 64-byte block. After ten
// times the capacity in increments every counter is halved, so popularity
// ages. Hits, misses (Add) and RecordMiss increment it; a key keeps its
// counts when its node leaves. A doorkeeper (a Bloom filter in front of the
// sketch) was tried and left out: with an earlier adaptation of the window
// it lowered the hit ratio on most test traces.
//
// The window's size adapts. Rather than Caffeine's hill climber, which
// moves the window by the change in the cache's own hit rate between
// sample periods and, on the test traces, was led by changes of workload as
// much as by its own moves, the policy replays a sample of the keys (one in
// 2^k, keeping at least 256 keys per sim) through eight miniature window
// TinyLFU caches whose windows are a single node and 1, 5, 10, 20, 35, 50
// and 70% of their capacity, and that share the policy's sketch. The
// single node is for keys that are all about as frequent, as in a loop a
// little larger than the cache: there every node of window holds a key that
// loses admission when it leaves, and a window of 1% of the cache costs 1%
// of the hits. Every ten times a sim's
// capacity in sampled requests, the window takes the size of the sim with
// the most hits (counted with exponential decay), moving at most eight
// nodes per call between window and main space to get there. The sims all
// see the same requests, so they compare window sizes under the same
// workload. A policy of fewer than 128 nodes does not adapt: its window
// stays at one node, and it has no sims, which would otherwise replay every
// request eight times.
//
// # Figures
//
// Hit ratios in percent, replaying the traces of keyedcache/testdata/traces
// cold with one goroutine (trace_test.go pins them), beside the published
// figures of otter and of the best of golang-lru's LRU, 2Q and ARC:
//
//	trace  capacity  tinylfu  otter  golang-lru
//	oltp       1000    41.09  40.23       39.24
//	oltp       2000    46.65  45.61       46.15
//	oltp       5000    54.78  52.70       55.12
//	oltp      15000    65.47  60.45       65.96
//	p3         8192     4.28   4.36        4.17
//	p3        32768    18.41  15.82       16.90
//	p3       131072    44.02  43.69       50.17 (ARC)
//	loop        512    50.31  77.00        0.05
//	loop       1000    98.48  99.50       78.34
//	gli         500    33.52  20.63        9.46
//	gli        1000    50.86  32.37       30.86
//
// loop cycles through 1011 keys, so no cache of capacity c hits more than
// c/1011 of the requests (50.64% and 98.91%); otter's figures there come
// from holding more entries than its bound. P3 at 131072 falls short of
// ARC. What was measured there, none of it enough to be kept: admitting a
// candidate that ties with the victim (47% with a fixed small window, but a
// loop then degrades to LRU's zero hits, and letting sims with and without
// it choose gave 44.4% on P3), aging the sketch every 2 to 80 times the capacity,
// a sketch 4 or 16 times larger (at most 48% with both of the above),
// protected shares from 50 to 95%, choosing the window 4 to 40 times as
// often, and sims of 1024 or 4096 keys. No fixed window does better than
// 45.4% there without tie admission. ARC's edge seems to come from
// admitting, by recency alone, a key evicted a short while ago, which a
// sketch aged by halving does not tell apart from one seen long ago.
//
// # What it gives up
//
// Eviction is not in exact LRU order: a node may be evicted while nodes
// used less recently stay, because they were used more often, and a new
// node may be evicted before older ones when it loses admission. Ascend
// reports the queues in order of their likely eviction, not a global
// recency order.
package tinylfu
