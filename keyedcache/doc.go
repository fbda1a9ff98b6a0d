// Package keyedcache builds an expensive value once per key and shares it
// safely: a generic keyed singleton, with an optional LRU bound, an optional
// time to live, eviction callbacks and statistics.
//
// The typical value is something that is costly to create and meant to be
// reused: an API client with its connection pool, a compiled template, a
// parsed configuration. The key is whatever makes two such values different.
//
//	clients, err := keyedcache.New(func(ctx context.Context, cfg Config) (*Client, error) {
//		return Dial(ctx, cfg)
//	}, &keyedcache.Options[Config, *Client]{MaxEntries: 64, TTL: time.Hour})
//	...
//	client, err := clients.Get(ctx, cfg)
//
// # Contract
//
// One load per key. Concurrent Gets of a missing key call the [Loader] once;
// all of them receive its result. Different keys load in parallel, and a slow
// load never blocks hits or loads of other keys.
//
// Errors are not cached. A Loader error goes to the Get that started the load
// and to every Get that joined it; the next Get calls the Loader again.
//
// Panics and Goexit never hang or crash. The Loader runs in the goroutine of
// the Get that started the load if that Get's context cannot end (its Done
// returns nil, as context.Background's does), and in a goroutine of its own
// otherwise. If it panics, every Get waiting on it, the first included,
// receives a [*PanicError] holding the panic value and stack, and the key can
// be loaded again. If it calls [runtime.Goexit] (t.FailNow does), the
// goroutine it runs in ends, as Goexit must (so a Get that ran it does not
// return), and every other Get waiting on it receives [ErrLoaderExited].
//
// Cancellation. A Get whose context ends while it waits returns ctx.Err() at
// once; the load goes on for the others. The Loader's context carries the
// values of the Get that started the load, is not cancelled when that Get
// leaves, and is cancelled once every Get waiting on it has left (the load is
// then abandoned: its result is not stored, and the next Get starts afresh).
// Close cancels it too.
//
// Delete, Clear and Close during a load make the load stale: its waiters still
// receive its result, but it is not stored, and the next Get loads afresh.
// After Clear returns, no Get that starts returns a value whose load began
// before the Clear.
//
// OnEvict is called exactly once for every value that the cache stored and
// then removed, with a [Reason]. It runs outside the cache's locks, so it may
// call the cache, in the goroutine of the call that removed the value and
// before that call returns: after Clear or Close returns, every callback for
// what it removed has run. A value evicted to make room for a new one is
// removed by the goroutine that completes the load, before the Gets waiting
// for that load return.
//
// Close removes every value with reason [Closed], cancels the loads in
// flight and waits for their Loaders to return; later Gets return
// [ErrClosed]. Close is idempotent. No goroutine started by the cache outlives
// a Close.
//
// # Bounds and expiry
//
// With Options.MaxEntries, inserting beyond the bound evicts the least
// recently used value. Recency is exact when calls do not overlap: hits that
// never overlap (one goroutine replaying a trace, or goroutines that hand the
// cache on to each other) give exactly the order of a textbook LRU. Hits take
// no lock: each appends its entry to a small buffer of its goroutine's
// stripe, and the next call that takes the lock (to insert, evict or list
// keys) applies the buffered hits first, in order; a hit from another stripe
// than the previous one applies the buffers before it records itself.
//
// Once hits are seen to overlap (a hit finds the lock taken while the
// previous hit came from another stripe), the cache approximates, so that
// concurrent hits never write to shared memory: it records only one hit in
// eight of each stripe, applies the stripes one after another rather than in
// the order of their hits, and drops a hit that finds its buffer full while
// another goroutine holds the lock. Keys hit often are still recorded often;
// the relative order of rarely hit keys is what may be lost. The cache returns
// to the exact order when four drains in a row find only one stripe in use.
//
// With Options.TTL, a value expires TTL after it was created (reads do not
// extend it). An expired value is invisible at once to Get, Peek, Len and
// Keys; the next Get reloads it. There is no background goroutine: expired
// values are removed, with reason [Expired], by the next call that writes or
// scans (a Get that misses, Delete, Clear, Close, Len, Keys, Stats). Lookups
// that hit and Peek do not remove anything.
//
// # Costs
//
// A miss that starts a load with a context that cannot end runs the Loader
// in place; with one that can, it starts a goroutine for it, so that the
// Get can leave early.
//
// A hit reads an atomically published map and, in a stripe that belongs to
// the calling goroutine, adds one to a counter (and, with MaxEntries, appends
// to a buffer). It takes no lock and allocates nothing; with TTL it also reads
// the monotonic clock. Misses, stores and removals take one mutex. New keys go
// into a second map that readers reach under the mutex until enough of them
// have missed there to pay for promoting it, as sync.Map did before Go 1.24;
// a cache whose keys keep changing pays more per store than one whose keys
// settle, which is the case it is built for.
//
// Stats are always on: the lock-free hit counters are striped, the others are
// kept under the mutex.
package keyedcache
