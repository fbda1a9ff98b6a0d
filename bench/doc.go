// Package bench measures keyedcache and the OpenAI adapter against what a Go
// program would use instead, with every implementation running the identical
// loop.
//
// # Implementations
//
// Each competitor sits behind the small [Cache] interface, one adapter per
// library (as otter's own benchmarks do): sync.Map, golang-lru/v2, otter v2
// (bounded, stats on), ristretto v2, and keyedcache unbounded and bounded.
// [Impls] lists them. [Cache.Get] is the read a caller makes when the value
// should be there; [Cache.GetOrLoad] is how a caller of that library gets a
// value that may be missing: keyedcache and otter call their loader once per
// key, the others are used in the check-then-add pattern (look up, build, add).
//
// # What is measured
//
//   - [HitPath]: b.RunParallel reads of a pre-populated cache, with 40-byte
//     string keys drawn from a fixed trace ([Workloads]: 16 hot keys, and 8192
//     keys under a Zipf distribution). A bounded cache holds twice the keys, so
//     every read should hit; a read that misses is counted and reported as the
//     "hit-ratio" metric instead of being hidden.
//   - [Mixed]: 75% reads of a Zipf-distributed hot set and 25% reads of keys
//     never seen before, each miss building and adding a value, with a bound of
//     [MixedBound] entries that forces evictions. Only bounded caches run it.
//     The "hit-ratio" metric tells how many reads found their value.
//   - [Herd]: a thundering herd. Per round, N goroutines released together
//     ask for one missing key whose loader takes [HerdLoadTime]; the
//     "loads/op" metric is the number of loader calls per round.
//   - [OpenAI]: chat completions at concurrency [OpenAIConcurrency] against the
//     in-process openaitest server, with a new SDK client per call, one shared
//     default SDK client, and the adapter's Clients, which differ only in how a
//     call gets its client ([OpenAIClients] says what is held equal);
//     "conns/op" is the number of TCP connections the server accepted per call.
//   - [Misses]: the cost of a miss (a key never requested, built and added)
//     in a cache holding [MissEntries] live values, from 1e3 to 1e6, unbounded
//     and bounded at that size ([MissImpls]), with the slowest single miss
//     as the "max-ns/miss" metric; [MissesGCOff] is the same with the
//     garbage collector off while the misses are timed.
//   - [EntryBytes]: the live heap a cache adds per entry, keys and values
//     excluded, as the "B/entry" metric ([MemoryImpls], [EntryCounts]).
//   - [CompareTraces]: hit ratios of [TracePolicies] (keyedcache's LRU and
//     TinyLFU, golang-lru's LRU, 2Q and ARC, otter) replaying the ARC and
//     LIRS traces in [TraceDir] single-threaded at the sizes of [TraceRows];
//     [ReplayTrace] replays one. A policy whose hit ratios depend on a
//     hash seed drawn per cache (Impl.Seeded: TinyLFU) is replayed through
//     [TraceSeeds] caches, and the median reported. The traces are parsed
//     once per process ([LoadTrace]).
//
// # Running
//
// The benchmarks in this package's test file run these functions as
// sub-benchmarks named as key=value paths, so benchstat can compare them:
//
//	go test -run '^$' -bench . -cpu 1,2 -count 10 ./bench/ | tee new.txt
//	benchstat -col /cache new.txt
//
// The program bench/cmd/benchreport runs the same functions in-process,
// interleaves the implementations, repeats each measurement, takes medians and
// prints a Markdown report, optionally with an SVG chart:
//
//	go run ./bench/cmd/benchreport -benchtime 200ms -svg hit.svg
package bench
