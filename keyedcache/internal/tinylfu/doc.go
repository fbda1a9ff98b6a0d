// Package tinylfu is a window TinyLFU eviction policy, after Caffeine's:
// it decides which of a bounded set of nodes to evict, for an owner that
// keeps the nodes, embedded in its entries, and calls the policy under its
// own lock. The policy is not safe for concurrent use, does O(1) work per
// call (the sketch's aging halves at most 1024 words per call; only the
// clearing of the nodes' marks, once per 2^32-1 agings, walks them all),
// and allocates only in New.
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
// A candidate that loses is recorded in a ghost: two generations of a
// Bloom filter of 12 bits per hash, which remember the last 0.75 to 1.5
// times the capacity in rejected candidates (about 2.25 bytes per unit of
// capacity; 1.5% false positives). While the ghost rule is on, a candidate
// found there, requested again a short while after it was turned away, is
// admitted whatever the frequencies say, straight to the protected queue,
// as ARC moves a key found in its ghost lists to its frequent list. The rule
// wins where keys come back at a distance of about the capacity, as on P3,
// and loses in a loop a little larger than the cache, where it turns the
// main space into an LRU that evicts each key just before its turn. So the
// policy scores it as it goes: for a sample of the contests the rule
// decides, or would decide if it were on (a candidate in the ghost that the
// frequencies reject), a table of 1 slot per 32 units of capacity (0.75
// bytes per unit) follows the candidate's and the victim's hashes, and the
// first of the two requested again decides the contest, for the rule if it
// is the candidate, against it if it is the victim (Belady's rule: the
// cache should keep the key needed sooner). A contest not decided within
// four times the capacity in calls gives its slots up. The rule is on while
// the score, the contests won less those lost and bounded to 64 either way,
// is above zero; it starts off. A request costs one lookup in that table
// while the table holds a contest (so none before the first eviction); an
// eviction, a lookup in the ghost and, when the candidate is rejected, an
// addition (the ghost clears a generation, 0.75 times the capacity in
// 12-bit slots, once per 0.75 times the capacity in rejections). A policy
// of fewer than 128 nodes has no ghost.
//
// The frequency sketch is a count-min sketch of 4-bit counters, sixteen per
// unit of capacity (one 64-bit word, the table rounded up to a power of
// two), with the four counters of a key in one 64-byte block. After ten
// times the capacity in increments every counter is halved, so popularity
// ages: 1024 words per increment until the table is done, so that no call
// does work proportional to the capacity (a sketch of at most 1024 words,
// a capacity up to 1024, ages at once, as before; halving larger ones at
// once took 1.2 ms at a capacity of a million, and halving them 64 words
// at a time took loop at 1000 from 98.47% to 97.75%, median of sixteen
// seeds, where keys whose blocks were halved before and after their
// request no longer tie). Hits, misses (Add) and RecordMiss increment it; a key keeps its
// counts when its node leaves. Between two agings a counter only grows, so
// a hit on a node whose four counters were found saturated since the last
// aging skips them (the node keeps the sketch's count of agings when it
// finds them so, and the marks are cleared when that count wraps): the
// sketch stays what it would be if every hit counted, and once a popular
// key's counters are found saturated, its hits touch no counter until the
// next aging. A doorkeeper (a Bloom filter in front of the
// sketch) was tried and left out: with an earlier adaptation of the window
// it lowered the hit ratio on most test traces.
//
// The window's size adapts. Rather than Caffeine's hill climber, which
// moves the window by the change in the cache's own hit rate between
// sample periods and, on the test traces, was led by changes of workload as
// much as by its own moves, the policy replays a sample of the keys (one in
// 2^k, keeping at least 256 keys per sim, or 128 where 256 would replay
// more than one request in eight) through eight miniature window
// TinyLFU caches whose windows are a single node and 1, 5, 10, 20, 35, 50
// and 70% of their capacity, and that share the policy's sketch, each with a ghost of its own that it
// applies while the policy's rule is on (see below). The single node is for
// keys that are all about as frequent, as in a loop a
// little larger than the cache: there every node of window holds a key that
// loses admission when it leaves, and a window of 1% of the cache costs 1%
// of the hits. Every ten times a sim's
// capacity in sampled requests, the window takes the size of the sim with
// the most hits (counted with exponential decay), if it beats the sim of the
// size chosen last (at first the single node) by more than three times the
// square root of the latter's hits, moving at most eight nodes per call
// between window and main space to get there. Without a margin, near ties
// decided by the sample's chance moved the window of P3 at 131072 to 70%
// of the cache for a million requests, for four hash seeds in five. With
// twice the square root, which moves the window in one choice in 5 to 10
// where all eight sims are equal (one in 35 to 45 at three times), it still
// did for two seeds in sixteen, and those seeds lost four points (45.2 and
// 45.5%); with three times, none did, at the cost of one seed in sixteen
// on OLTP at 15000 moving its window a period later (64.96% instead of
// about 65.9%). The sims all
// see the same requests, so they compare window sizes under the same
// workload. Replaying one request in eight costs about one sim's replay
// per request; in caches under 2048 entries, sims of 256 keys would
// replay one in four or more (at 1024 entries, in the bench's mixed
// workload, they took a third of the time of a TinyLFU cache; at 1000, a
// miss took 485 ns with sims of 250 keys replaying one key in four, 395
// with sims of 125 replaying one in eight), so there the sims hold 64 to
// 255 keys, one in eight replayed from 512 entries (oltp at 1000 gave
// 40.50% with 256, 40.45% with 125: medians of five hash seeds; at 2000,
// 46.52% with 250). Sims of 128 keys in larger caches lose up to a point
// (oltp at 15000: a median of 65.4% over fifteen hash seeds, against
// 65.9%). A policy of fewer than 128 nodes does not adapt: its window
// stays at one node, and it has no sims, which would otherwise replay every
// request eight times.
//
// # Figures
//
// Hit ratios in percent, replaying the traces of keyedcache/testdata/traces
// cold with one goroutine (trace_test.go pins them), beside the published
// figures of otter and of the best of golang-lru's LRU, 2Q and ARC:
//
//	trace  capacity  tinylfu  before  otter  golang-lru
//	oltp       1000    40.48   41.09  40.23       39.24
//	oltp       2000    46.54   46.65  45.61       46.15
//	oltp       5000    54.83   54.78  52.70       55.12
//	oltp      15000    66.13   65.47  60.45       65.96
//	p3         8192     4.55    4.28   4.36        4.17
//	p3        32768    17.43   18.41  15.82       16.90
//	p3       131072    49.57   44.02  43.69       50.17 (ARC)
//	loop        512    50.35   50.31  77.00        0.05
//	loop       1000    98.48   98.48  99.50       78.34
//	gli         500    33.45   33.52  20.63        9.46
//	gli        1000    45.50   50.86  32.37       30.86
//
// ("before": without the ghost rule and the margin of the window's
// choice.) loop cycles through 1011 keys 500 times, so a cache of
// capacity c replaying it cold misses the first cycle and at least 1011-c
// requests of every other: it hits at most 499/500 of c/1011 of the
// requests (50.54% and 98.71%, which Belady's optimal replacement
// reaches); otter's figures there come from holding more entries than its
// bound. The figures depend
// on the hash. Over sixteen hash seeds (hashKey of the key xor a seed),
// P3 at 131072 gave 48.39 to 50.32%, median 49.52% (42.54 to 46.10% over
// five seeds before the ghost rule); gli at 1000, 43.39 to 50.91%, median
// 45.92%; gli at 500, 31.47 to 33.62%; every other row spread over less
// than 1.4 points, and every row's median met its target.
//
// P3 at 131072 fell short of ARC (44.02%). What was measured there before
// the ghost, none of it enough to be kept: admitting a candidate that ties
// with the victim (47% with a fixed small window, but a loop then degrades
// to LRU's zero hits, and letting sims with and without it choose gave
// 44.4% on P3), aging the sketch every 2 to 80 times the capacity, a sketch
// 4 or 16 times larger (at most 48% with both of the above), protected
// shares from 50 to 95%, choosing the window 4 to 40 times as often, and
// sims of 1024 or 4096 keys. No fixed window does better than 45.4% there
// without tie admission. ARC's edge came from admitting, by recency alone,
// a key turned away a short while ago, which a sketch aged by halving does
// not tell apart from one seen long ago: the ghost tells them apart. With
// an exact ghost of the last c rejected candidates, always on and its
// candidates admitted to probation, P3 gave 47.4%; admitted to protected,
// 50.2% (49.6% with the Bloom ghost); remembering evicted victims as well
// as rejected candidates did worse (46 to 49%), and ghosts of c/4 or 2c
// did worse. Always on, the rule takes loop to 0 to 40% and gli at 1000 to
// 44%. Letting the sims choose between the rule and none (sixteen sims)
// gave 45.6 to 46.1% on P3: with choices a million requests apart, on a
// sample of 256 keys, they did not follow P3's phases, where the rule gains
// up to 20 points in one stretch of 250,000 requests and loses 10 in
// another. Scoring the rule by whether the victims it evicted and the
// candidates it rejected came back, each counted alone (as ARC adapts),
// kept the rule on in loop at 1000 (79%): only the contest of the two,
// which comes back first, tells a loop apart.
//
// # What it gives up
//
// Eviction is not in exact LRU order: a node may be evicted while nodes
// used less recently stay, because they were used more often, and a new
// node may be evicted before older ones when it loses admission. Ascend
// reports the queues in order of their likely eviction, not a global
// recency order.
package tinylfu
