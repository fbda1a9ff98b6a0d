package keyedcache

import (
	"context"
	"runtime/debug"
	"time"
)

// A call is one Loader run, shared by every Get that waits for its key.
// val and err are written once, before done is closed, and read only after.
type call[K comparable, V any] struct {
	done   chan struct{}
	ctx    context.Context // the Loader's
	cancel context.CancelFunc
	val    V
	err    error

	// guarded by mu
	waiters int  // Gets waiting on done
	stale   bool // Delete, Clear or Close came first: do not store the result
}

// startLocked registers a load of key on behalf of a Get whose context is
// ctx. The Loader's context keeps ctx's values but not its cancellation.
// The caller runs the load, with run.
func (c *KeyedCache[K, V]) startLocked(ctx context.Context, key K) *call[K, V] {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cl := &call[K, V]{done: make(chan struct{}), ctx: lctx, cancel: cancel, waiters: 1}
	c.calls[key] = cl
	c.running.Add(1)
	return cl
}

// run calls the Loader and hands its outcome to finish, whether the Loader
// returns, panics or calls runtime.Goexit. The two defers tell these apart,
// as golang.org/x/sync/singleflight does.
func (c *KeyedCache[K, V]) run(key K, cl *call[K, V]) {
	defer c.running.Done()
	var (
		val      V
		err      error
		returned bool
		panicked bool
	)
	start := time.Now()
	defer func() {
		if !returned && !panicked {
			err = ErrLoaderExited
		}
		c.finish(key, cl, val, err, time.Since(start))
	}()
	func() {
		defer func() {
			if !returned {
				// recover returns nil during Goexit; since Go 1.21 a
				// panic(nil) arrives as *runtime.PanicNilError.
				if r := recover(); r != nil {
					err = &PanicError{Value: r, Stack: debug.Stack()}
				}
			}
		}()
		val, err = c.load(cl.ctx, key)
		returned = true
	}()
	if !returned {
		panicked = true
	}
}

// finish records a load's outcome, stores its value unless the load went
// stale, and releases its waiters after the callbacks for what the store
// evicted have run.
func (c *KeyedCache[K, V]) finish(key K, cl *call[K, V], val V, err error, took time.Duration) {
	var out []removal[K, V]
	c.mu.Lock()
	c.stats.loadTime += took
	if err != nil {
		c.stats.loadErrors++
		var zero V
		val = zero
	} else {
		c.stats.loads++
	}
	if !cl.stale {
		delete(c.calls, key)
		if err == nil {
			out = c.insertLocked(key, val, out)
		}
	}
	cl.val, cl.err = val, err
	c.mu.Unlock()
	cl.cancel()
	// Deferred, so that waiters are released even if OnEvict panics.
	defer close(cl.done)
	c.notify(out)
}

// wait returns the outcome of cl, or ctx.Err() as soon as ctx ends. The last
// waiter to leave cancels the load and makes it stale, so that the next Get
// starts afresh rather than joining a cancelled load.
func (c *KeyedCache[K, V]) wait(ctx context.Context, key K, cl *call[K, V]) (V, error) {
	select {
	case <-cl.done:
		return cl.val, cl.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	select {
	case <-cl.done:
		c.mu.Unlock()
		return cl.val, cl.err
	default:
	}
	cl.waiters--
	if cl.waiters == 0 {
		cl.cancel()
		c.staleLocked(key, cl)
	}
	c.mu.Unlock()
	var zero V
	return zero, ctx.Err()
}

// staleLocked makes cl stale and forgets it, if it is still key's load.
func (c *KeyedCache[K, V]) staleLocked(key K, cl *call[K, V]) {
	cl.stale = true
	if c.calls[key] == cl {
		delete(c.calls, key)
	}
}
