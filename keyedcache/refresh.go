package keyedcache

import (
	"context"
	"math"
)

// With Options.RefreshAfter, a hit on a value at least that old starts one
// background reload of its key: a placeholder entry, not in the table, kept
// in c.refreshing under the key, whose load runs in a goroutine of the
// cache. The old value stays live meanwhile. A Get that finds the old value
// expired, or gone, joins the refresh instead of starting a load.
// Delete, Clear and Close cancel a refresh and make it stale; Set makes it
// stale.

// maybeRefresh starts a refresh of e, a live value just hit, if it is old
// enough and none is running. ctx is the hitting call's: the refresh keeps
// its values, not its cancellation.
func (c *KeyedCache[K, V]) maybeRefresh(ctx context.Context, e *entry[K, V]) {
	at := e.tm().refresh.Load()
	if at == 0 || c.clock() < at || ctx == nil {
		return
	}
	// Claim the refresh, so that concurrent hits do not all take the lock.
	if !e.tm().refresh.CompareAndSwap(at, math.MaxInt64) {
		return
	}
	c.mu.Lock()
	if c.closed || !live(e.st.Load()) || c.tab.lookup(e.hash(), e.key) != e || c.refreshing[e.key] != nil {
		c.mu.Unlock()
		return
	}
	r := c.newEntry(e.key, e.hash())
	r.st.Store(stLoading)
	l := &load[K, V]{parent: context.WithoutCancel(ctx), of: e, mode: modeRefresh}
	r.ld.Store(l)
	c.refreshing[e.key] = r
	c.loading.PushBack(&r.tn)
	c.running++
	c.stats.refreshes++
	c.mu.Unlock()
	go func() { _, _ = c.run(r, l, nil) }()
}
