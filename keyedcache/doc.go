// Package keyedcache builds an expensive value once per key and shares it
// safely: a generic keyed singleton, with an optional bound (exact LRU or
// TinyLFU), expiry (a TTL, or a lifetime per value), refresh-ahead, leases
// that keep a value alive while it is in use, eviction callbacks and
// statistics.
//
// The typical value is something that is costly to create and meant to be
// reused: an API client with its connection pool, a database pool, a
// compiled template, a parsed configuration. The key is whatever makes two
// such values different.
//
//	pools, err := keyedcache.New(func(ctx context.Context, tenant string) (*sql.DB, error) {
//		return sql.Open("pgx", dsn(tenant))
//	}, &keyedcache.Options[string, *sql.DB]{
//		MaxEntries: 64,
//		OnEvict:    func(_ string, db *sql.DB, _ keyedcache.Reason) { db.Close() },
//	})
//	...
//	db, release, err := pools.Acquire(ctx, tenant)
//	if err != nil { ... }
//	defer release()
//
// # Get or Acquire
//
// Get returns the shared value; the cache may remove it at any time after
// (to make room, because it expired, or on Delete, Clear or Close), and
// OnEvict then runs at once. Use Get when OnEvict does not dispose of the
// value, or when a caller's use is over before anything could remove it.
// Acquire returns the value and a release function, and holds OnEvict back
// until the last holder has released it: use Acquire, with defer release(),
// when OnEvict closes the value (a pool, a client, a file) and callers use
// it for a while. A hit through Acquire costs one atomic operation more than
// Get, and allocates its release function.
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
// return), and every other Get waiting on it receives [ErrLoaderExited]. An
// ExpireAfter that panics or calls Goexit fails the load in the same way.
//
// Cancellation. A Get whose context ends while it waits returns ctx.Err() at
// once; the load goes on for the others. The Loader's context carries the
// values of the Get that started the load, is not cancelled when that Get
// leaves, and is cancelled once every Get waiting on it has left (the load is
// then abandoned: its result is not stored, and the next Get starts afresh).
// Close cancels it too, and so does the end of the load: a value must not
// keep using the context it was loaded with. A context made from it (with
// context.WithTimeout, say) follows it without a goroutine of its own: it
// has the AfterFunc method that the context package looks for.
//
// Delete, Clear, Set and Close during a load make the load stale: its waiters
// still receive its result (they own it: it is never stored and gets no
// OnEvict), and the next Get loads afresh. After Clear returns, no Get that
// starts returns a value whose load began before the Clear. A stale refresh
// that no Get receives (none joined it, or those that did gave up) hands
// the value its Loader returns, if any, to OnEvict instead, with the reason
// of the call that made it stale (Deleted, Cleared, Closed or Replaced), so
// that a value holding a resource is never dropped with nobody to release
// it. A load (not a refresh) that every Get waiting for it gave up on is
// cancelled: a value its Loader returns anyway is dropped without OnEvict,
// so a Loader whose values need releasing should honour its context.
//
// Every value a load returns that is not stale is stored, and so leaves
// exactly once, with one OnEvict: a value that TinyLFU turns away is evicted
// at once (Evicted), and one whose lifetime is not positive expires at once
// (Expired). Either way the Gets waiting for the load receive it; its
// OnEvict runs in one of them, once the result is ready (with Acquire, not
// before the lease is released).
//
// OnEvict is called exactly once for every value that the cache stored and
// then removed, with a [Reason]. It runs outside the cache's locks and may
// call any method of the cache, Get of the very key being removed and Close
// included, without deadlock; the one exception is Close from an OnEvict
// that runs in a Loader's goroutine (because the Loader called Delete, Set,
// Clear or Get), as Close waits for that Loader. It runs in the goroutine
// of the call that removed the value, before that call returns (so after
// Clear or Close returns, every callback for what it removed has run),
// with three exceptions: a value removed while leased is handed to OnEvict
// by its last release, in the releasing goroutine; a value evicted,
// replaced or expired when a load completes is handed to OnEvict by a Get
// that receives that load's value (the one that ran it, or the first
// waiter to wake); and the callbacks of a refresh that no Get joined run in
// the refresh's goroutine, which Close waits for (a Close called from one
// of those returns at once).
//
// Close removes every value with reason [Closed], cancels every load and
// refresh in flight (stale ones included), waits for their Loaders to
// return, and then returns; later Gets return [ErrClosed]. Close is
// idempotent, and every Close, concurrent ones included, returns only after
// every OnEvict(Closed) has run, except for leased values (their OnEvict
// waits for the release, which Close does not wait for) and for a Close
// called from inside an OnEvict(Closed), which returns at once. A Loader must
// not call Close, which would wait for it, neither directly nor through an
// OnEvict or ExpireAfter that runs in its goroutine. No goroutine started
// by the cache outlives a Close.
//
// Removed means released: once a value has left and its OnEvict has run, the
// cache holds no reference to it. One case waits a little: a value that a
// bounded cache evicts or expires while hits on it overlap other calls may
// stay in the buffer of recorded hits (see Bounds) until the cache next
// applies it, which every Delete, Set, Clear, Close, Keys and store does.
// Delete, Set, Clear, Close and
// a refresh leave no such reference to the values they remove.
//
// Odd keys. A key not equal to itself (a NaN) could never be found again: it
// is never stored, each Get loads it for itself, and Set refuses it with an
// error. A key whose dynamic type is not hashable (K = any holding a slice)
// panics in every method, as a map index would, and leaves the cache usable.
//
// # Bounds: LRU and TinyLFU
//
// With Options.MaxEntries, storing beyond the bound evicts a value. Under
// the default [LRU] policy it is the least recently used one, and Keys and
// All list least recently used first. Recency is exact when calls do not
// overlap: hits that never overlap (one goroutine replaying a trace, or
// goroutines that hand the cache on to each other) give exactly the order of
// a textbook LRU. While hits do not overlap, a hit takes the cache's lock
// with TryLock and applies itself at once.
//
// Once hits are seen to overlap (a hit finds the lock taken), the cache
// approximates, so that concurrent hits never write to shared memory: a hit
// takes no lock, and one hit in eight of each goroutine's stripe appends
// its entry to a small buffer of the stripe; the next call that takes the
// lock (to store, evict, remove or list) applies the buffers first, one
// stripe after another rather than in the order of their hits, and a hit
// that finds its buffer full while another goroutine holds the lock drops
// its record. Keys hit often are still recorded often; the relative order of
// rarely hit keys is what may be lost. A recorded hit on a value stored or moved
// fewer than MaxEntries/4 stores and moves ago is not applied: fewer values
// than that lie behind it, so moving it would only reorder the most recent
// quarter, and writing to the values hit most would slow every core that
// reads them. The cache returns to the exact order
// when four drains in a row find only one stripe in use, each with at least
// eight recorded hits (about 64 hits, at one in eight): a goroutine that
// mixes a few hits with other calls may stay in the approximate mode.
//
// The [TinyLFU] policy (window TinyLFU, after Caffeine) keeps a compact
// count of how often each key was asked for lately, lets a new value into a
// small LRU window, and admits the window's oldest value into the main
// region (a segmented LRU) if its key has been asked for more often than the
// key it would push out, or, now and then, if it is popular but not more so
// (one time in 128, so that inflated counts cannot keep every newcomer out),
// or if it was turned away a short while ago while that rule pays on the
// workload (as ARC readmits a key from its ghost lists); the window's size
// adapts to the workload. Choose it for a general-purpose cache where some
// keys are asked for far more than others, or where scans and loops occur:
// it keeps more hits than LRU on such traces (the trace tests pin its
// figures). It gives up the exact LRU order, and costs more per miss; a hit
// costs about what it costs under LRU, a little more where most keys are
// rare (it is also counted in the sketch, unless the key's counts are
// already at their ceiling). Under it, Keys and All list the window, then
// the probation segment, then the protected segment, each oldest first: the
// window and the protected segment by last use, probation by when each value
// entered it (from the window, or demoted from the protected segment; a hit
// moves a value on probation to the protected segment). While hits overlap,
// they are recorded as under LRU, and a recorded hit that would only move a
// value of the protected segment is counted but not applied if the value was
// moved to the segment's back within the last near moves there, near being a
// quarter of the segment's largest size (which the window's size sets), at
// most 4096. The moves are counted modulo 2^16: a value not moved for 2^16
// moves or more looks recent while the count, which the other values' moves
// advance, is within near of its last, which is at most 1/16 of the count's
// values. For a keyed singleton of clients and pools, LRU is usually the
// right choice.
//
// # Expiry and refresh
//
// With Options.TTL, a value expires TTL after it was created (reads do not
// extend it). With Options.ExpireAfter, which replaces TTL, each stored value
// gets its own lifetime, such as a token's expires_in minus a margin. An
// expired value is invisible at once to Get, Peek, Len, Keys and All; the
// next Get reloads it. A lifetime too large to add to the clock means never.
//
// There is no background goroutine for expiry: expired values are removed,
// with reason [Expired], by the next Get that misses, Acquire that misses,
// Set, Delete, Clear or Close, whose OnEvict calls then run in that call.
// Hits and the read-only calls (Peek, Len, Keys, All, Stats) never remove
// anything and never call OnEvict: a metrics scraper cannot close a pool.
// Values with one TTL are swept in creation order; values with lifetimes
// from ExpireAfter through a hierarchical timer wheel, at a cost per removed
// value that does not grow with the number of entries.
//
// With Options.RefreshAfter, a Get or Acquire that hits a value at least
// that old returns it at once and starts, unless one is running, a reload of
// the key in a goroutine of the cache (its context keeps the hitting call's
// values, not its cancellation). On success the new value replaces the old
// one (OnEvict(old, Replaced), held back while leased) and its lifetime
// starts anew; on failure the old value stays until it expires, and no new
// refresh of that key starts before another RefreshAfter has passed. A Get
// that finds the value expired while its refresh runs joins the refresh
// (counted as a Miss and as Shared). Delete, Clear and Close cancel a refresh
// that no Get has joined; Set makes it stale. Either way, a value that such
// a refresh returns all the same leaves with OnEvict (see above), in the
// refresh's goroutine, which Close waits for.
//
// # Costs
//
// A hit hashes the key, walks a hash trie through atomic pointers (no lock,
// no allocation), and adds one to a counter in a stripe that belongs to the
// calling goroutine; with a TTL or ExpireAfter it reads the monotonic clock.
// With MaxEntries, a hit that overlaps no other takes the mutex with
// TryLock and moves its entry instead of counting in its stripe, and one in
// eight overlapping hits appends to its stripe's buffer (see Bounds).
// Strings and integer keys hash through a short path; other key types
// through [hash/maphash.Comparable].
//
// An entry costs 80 bytes on 64-bit platforms for a string key and a
// pointer value, and the table about 20 more; a cache with TTL,
// ExpireAfter or RefreshAfter adds 32 bytes an entry for its times.
//
// A miss takes the cache's mutex twice (to register its load and to store
// its value). It runs the Loader in place when its context cannot end; with
// one that can, it starts a goroutine for it, so that the Get can leave
// early. A miss of a Get with context.Background or context.TODO allocates
// the entry (which is also the load's placeholder), and takes a 16-byte
// context for the Loader from a slab that the cache allocates every 256 such
// misses; the load's state (88 bytes) is allocated only if another call
// joins or cancels the load or the Loader asks for Done or AfterFunc, and
// for every other miss. The Loader's context refers to the entry only while
// the load runs: a context kept after it keeps no value alive, only its
// 4 KiB slab. At the bound, the table reuses the nodes that deletes empty,
// and the buckets that its splits replaced once every key they held has
// left, so that once the trie has taken its shape such a miss makes 1.004
// allocations on average beyond the Loader's. No Get, Set or Delete does
// work proportional to the number of entries: the table never copies or
// rehashes (a store allocates at most the trie nodes on one path), and
// removed entries are unlinked at once. What a call removes it pays for,
// though: a sweep removes every value that has expired, with its OnEvict, in
// the call that sweeps, so that a Get that misses after many values expired
// at once works in proportion to them, as Clear does; and Len and Stats
// count the expired values not yet swept. Under TinyLFU, the aging of the
// frequency sketch, whose size is set by MaxEntries, halves at most 1024
// words per call (about a microsecond). Clear, Close, Keys and All take time
// proportional to the number of entries, by nature. One exception, once in
// 2^48 placements in the LRU order (65 days at fifty million stores and
// moves a second): the call that makes the one that passes the 48 bits of
// the order's stamps numbers the order afresh, in time proportional to its
// length.
//
// Stats are always on: the lock-free hit counters are striped, the others are
// kept under the mutex.
package keyedcache
