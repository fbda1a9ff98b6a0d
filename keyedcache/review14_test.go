package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"
)

// Review 14: a stale refresh's value that no Get receives leaves with
// OnEvict (898a582). (The review also found a defect in a drain that
// skipped recorded hits on the most recently placed quarter of an LRU
// bound, ce35b15: its 32-bit placement stamps wrap for an entry that hits
// on other keys pass 2^32 times without evicting it. That change was
// reverted, then made again with 48-bit stamps and a renumbering of the
// order when they would pass that: stamp_test.go has its tests.)
//
// PASSING GUARDS: a stale refresh's value leaves once, with the first
// stale-making call's reason, whether a joining Get or Acquire gave up or
// none joined, and never when a joiner received it; not on a failing,
// panicking or Goexiting Loader; Close waits for its OnEvict, which may
// reenter the cache (Close included); the value is released after it;
// ExpireAfter is skipped for, or overlapped by, the staleness; a leased
// refreshed value; LRU and TinyLFU bounds; exact Stats.

// r14Log records OnEvict calls of a string cache.
type r14Log struct {
	mu  sync.Mutex
	got []string
}

func (l *r14Log) add(k, v string, r Reason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%s=%s:%v", k, v, r))
}

func (l *r14Log) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// count returns how many OnEvict calls v had, and their reasons.
func (l *r14Log) count(v string) (n int, whys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.got {
		_, rest, _ := strings.Cut(s, "=")
		if j := strings.LastIndexByte(rest, ':'); j >= 0 && rest[:j] == v {
			n++
			whys = append(whys, rest[j+1:])
		}
	}
	return n, whys
}

// r14Gated returns a Loader whose second call (the refresh) waits for
// gate, deaf to its context, then does what second says; other calls
// return k#n at once.
func r14Gated(calls *atomic.Int32, gate chan struct{}, second func(k string, n int32) (string, error)) Loader[string, string] {
	return func(_ context.Context, k string) (string, error) {
		n := calls.Add(1)
		if n == 2 {
			<-gate
			if second != nil {
				return second(k, n)
			}
		}
		return fmt.Sprintf("%s#%d", k, n), nil
	}
}

// r14MakeStale makes the refresh of k stale by calling how (Delete, Set,
// Clear or Close) in a goroutine of its own, and returns a channel closed
// when that call returns.
func r14MakeStale(c *KeyedCache[string, string], how string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		switch how {
		case "Delete":
			c.Delete("k")
		case "Set":
			c.Set("k", "set")
		case "Clear":
			c.Clear()
		case "Close":
			c.Close()
		default:
			panic("r14MakeStale: no call " + how)
		}
	}()
	return done
}

// r14StartRefresh loads k#1 and starts its refresh (call 2), at 1s.
func r14StartRefresh(t *testing.T, c *KeyedCache[string, string]) {
	t.Helper()
	if v, _ := c.Get(context.Background(), "k"); v != "k#1" {
		t.Fatalf("Get = %q, want k#1", v)
	}
	time.Sleep(time.Second)
	c.Get(context.Background(), "k") // a hit that starts the refresh
	synctest.Wait()
	if s := c.Stats(); s.Refreshes != 1 {
		t.Fatalf("Refreshes = %d, want 1", s.Refreshes)
	}
}

// TestReview14StaleRefreshJoinerGivesUp: a refresh of an expired value is
// joined by a Get or Acquire whose context can end; Delete, Clear or Set
// makes it stale (without cancelling it, since a Get waits), then the
// joiner gives up. Nobody receives the refresh's value: it must leave once,
// with the reason of the call that made it stale. If the joiner stays, it
// owns the value and no OnEvict may run for it, not even at Close.
func TestReview14StaleRefreshJoinerGivesUp(t *testing.T) {
	for _, during := range []struct {
		name string
		f    func(c *KeyedCache[string, string])
		why  string
	}{
		{"Delete", func(c *KeyedCache[string, string]) { c.Delete("k") }, "Deleted"},
		{"Clear", func(c *KeyedCache[string, string]) { c.Clear() }, "Cleared"},
		{"Set", func(c *KeyedCache[string, string]) { c.Set("k", "set") }, "Replaced"},
	} {
		for _, acquire := range []bool{false, true} {
			for _, leave := range []bool{true, false} {
				name := fmt.Sprintf("%s/acquire=%v/leave=%v", during.name, acquire, leave)
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						gate := make(chan struct{})
						var calls atomic.Int32
						log := &r14Log{}
						c := newCache(t, r14Gated(&calls, gate, nil), &Options[string, string]{
							TTL: 2 * time.Second, RefreshAfter: time.Second, OnEvict: log.add,
						})
						r14StartRefresh(t, c)
						time.Sleep(1500 * time.Millisecond) // k#1 expired: a Get joins the refresh
						ctx, cancel := context.WithCancel(context.Background())
						defer cancel()
						type res struct {
							v       string
							err     error
							release func()
						}
						got := make(chan res, 1)
						go func() {
							if acquire {
								v, rel, err := c.Acquire(ctx, "k")
								got <- res{v, err, rel}
								return
							}
							v, err := c.Get(ctx, "k")
							got <- res{v, err, nil}
						}()
						synctest.Wait()
						if s := c.Stats(); s.Shared != 1 {
							t.Fatalf("Shared = %d, want 1: the Get did not join the refresh", s.Shared)
						}
						during.f(c)
						synctest.Wait()
						if leave {
							cancel()
							r := <-got
							if !errors.Is(r.err, context.Canceled) {
								t.Fatalf("joiner = %q, %v; want context.Canceled", r.v, r.err)
							}
						}
						close(gate)
						synctest.Wait()
						if !leave {
							r := <-got
							if r.err != nil || r.v != "k#2" {
								t.Fatalf("joiner = %q, %v; want k#2", r.v, r.err)
							}
							if r.release != nil {
								r.release()
							}
						}
						n, whys := log.count("k#2")
						if leave && (n != 1 || whys[0] != during.why) {
							t.Errorf("k#2, which nobody received, left %d times %v; want once, %s (log %v)", n, whys, during.why, log.list())
						}
						if !leave && n != 0 {
							t.Errorf("k#2, owned by the joiner, had OnEvict %v (log %v)", whys, log.list())
						}
						c.Close()
						if n2, _ := log.count("k#2"); n2 != n {
							t.Errorf("k#2 left again at Close (log %v)", log.list())
						}
						if n, _ := log.count("k#1"); n != 1 {
							t.Errorf("k#1 left %d times (log %v)", n, log.list())
						}
						if s := c.Stats(); s.Loads != 2 || s.Evictions != 0 || s.Expirations != 1 {
							t.Errorf("Stats = %+v, want Loads 2, Evictions 0, Expirations 1 (k#1)", s)
						}
					})
				})
			}
		}
	}
}

// TestReview14StaleTwiceKeepsFirstReason: a refresh made stale by several
// calls in a row leaves once, with the reason of the first; Close after
// them waits for it. Stats count its load and no eviction or expiration.
func TestReview14StaleTwiceKeepsFirstReason(t *testing.T) {
	del := func(c *KeyedCache[string, string]) { c.Delete("k") }
	set := func(c *KeyedCache[string, string]) { c.Set("k", "set") }
	set2 := func(c *KeyedCache[string, string]) { c.Set("k", "set2") }
	clr := func(c *KeyedCache[string, string]) { c.Clear() }
	for _, tt := range []struct {
		name string
		ops  []func(c *KeyedCache[string, string])
		why  string
	}{
		{"DeleteSetClose", []func(c *KeyedCache[string, string]){del, set}, "Deleted"},
		{"SetDeleteClearClose", []func(c *KeyedCache[string, string]){set, del, clr}, "Replaced"},
		{"ClearSetDeleteClose", []func(c *KeyedCache[string, string]){clr, set, del}, "Cleared"},
		{"SetSetClose", []func(c *KeyedCache[string, string]){set, set2}, "Replaced"},
		{"Close", nil, "Closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				var calls atomic.Int32
				log := &r14Log{}
				c := newCache(t, r14Gated(&calls, gate, nil), &Options[string, string]{
					RefreshAfter: time.Second, OnEvict: log.add,
				})
				r14StartRefresh(t, c)
				for _, op := range tt.ops {
					op(c)
				}
				closed := make(chan struct{})
				go func() { c.Close(); close(closed) }()
				synctest.Wait()
				select {
				case <-closed:
					t.Fatal("Close returned before the refresh's Loader did")
				default:
				}
				close(gate)
				<-closed // Close returns after the orphan's OnEvict
				if n, whys := log.count("k#2"); n != 1 || whys[0] != tt.why {
					t.Errorf("k#2 left %d times %v, want once, %s (log %v)", n, whys, tt.why, log.list())
				}
				for _, v := range []string{"k#1", "set", "set2"} {
					if n, _ := log.count(v); n > 1 {
						t.Errorf("%s left %d times (log %v)", v, n, log.list())
					}
				}
				if n, _ := log.count("k#1"); n != 1 {
					t.Errorf("k#1 left %d times (log %v)", n, log.list())
				}
				if s := c.Stats(); s.Loads != 2 || s.LoadErrors != 0 || s.Evictions != 0 || s.Expirations != 0 || s.Entries != 0 || s.AwaitingRelease != 0 {
					t.Errorf("Stats = %+v, want Loads 2 and no eviction, expiration or entry", s)
				}
			})
		})
	}
}

// TestReview14StaleRefreshFailsNoOnEvict: a refresh made stale whose
// Loader then fails (error, value with error, panic, Goexit) hands nothing
// to OnEvict, and above all no zero value.
func TestReview14StaleRefreshFailsNoOnEvict(t *testing.T) {
	for _, tt := range []struct {
		name   string
		second func(k string, n int32) (string, error)
	}{
		{"Error", func(string, int32) (string, error) { return "", errors.New("boom") }},
		{"ValueAndError", func(string, int32) (string, error) { return "k#2", errors.New("boom") }},
		{"Panic", func(string, int32) (string, error) { panic("boom") }},
		{"Goexit", func(string, int32) (string, error) { runtime.Goexit(); return "", nil }},
	} {
		for _, why := range []string{"Delete", "Set", "Close"} {
			t.Run(tt.name+"/"+why, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					gate := make(chan struct{})
					var calls atomic.Int32
					log := &r14Log{}
					c := newCache(t, r14Gated(&calls, gate, tt.second), &Options[string, string]{
						RefreshAfter: time.Second, OnEvict: log.add,
					})
					r14StartRefresh(t, c)
					done := r14MakeStale(c, why)
					synctest.Wait()
					close(gate)
					<-done
					synctest.Wait()
					c.Close()
					for _, s := range log.list() {
						if s == "k=:Deleted" || s == "k=:Replaced" || s == "k=:Closed" || s == "k=k#2:Deleted" || s == "k=k#2:Replaced" || s == "k=k#2:Closed" {
							t.Errorf("OnEvict %s for a refresh that failed (log %v)", s, log.list())
						}
					}
					if s := c.Stats(); s.Loads != 1 || s.LoadErrors != 1 {
						t.Errorf("Stats = %+v, want Loads 1, LoadErrors 1", s)
					}
				})
			})
		}
	}
}

// TestReview14OrphanOnEvictReenters: the OnEvict of a stale refresh's value
// runs in the refresh's goroutine and may call Get, Set, Delete and Close of
// the same key: no deadlock, every value leaves once. A Close from another
// goroutine meanwhile waits for that OnEvict.
func TestReview14OrphanOnEvictReenters(t *testing.T) {
	for _, staleBy := range []string{"Delete", "Set", "Clear", "Close"} {
		t.Run(staleBy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				hold := make(chan struct{})
				var calls atomic.Int32
				log := &r14Log{}
				var c *KeyedCache[string, string]
				var inside atomic.Bool
				onEvict := func(k, v string, r Reason) {
					log.add(k, v, r)
					if v != "k#2" {
						return
					}
					inside.Store(true)
					<-hold
					ctx := context.Background()
					c.Get(ctx, "k")
					c.Set("k", "in")
					c.Delete("k")
					c.Get(ctx, "k")
					if err := c.Close(); err != nil {
						t.Errorf("Close in OnEvict: %v", err)
					}
					if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrClosed) {
						t.Errorf("Get after Close in OnEvict: %v", err)
					}
				}
				c = newCache(t, r14Gated(&calls, gate, nil), &Options[string, string]{
					RefreshAfter: time.Second, OnEvict: onEvict,
				})
				r14StartRefresh(t, c)
				done := r14MakeStale(c, staleBy)
				synctest.Wait()
				close(gate)
				synctest.Wait()
				if !inside.Load() {
					t.Fatalf("no OnEvict for k#2 (log %v)", log.list())
				}
				closed := make(chan struct{})
				go func() { c.Close(); close(closed) }()
				synctest.Wait()
				select {
				case <-closed:
					t.Fatal("Close returned while the stale refresh's OnEvict ran")
				case <-done:
					if staleBy == "Close" {
						t.Fatal("Close returned while the stale refresh's OnEvict(Closed) ran")
					}
				default:
				}
				close(hold)
				<-done
				<-closed
				synctest.Wait()
				counts := map[string]int{}
				for _, s := range log.list() {
					counts[s[:strings.LastIndexByte(s, ':')]]++
				}
				for v, n := range counts {
					if n != 1 {
						t.Errorf("%s left %d times (log %v)", v, n, log.list())
					}
				}
				if counts["k=k#2"] != 1 {
					t.Errorf("k#2 did not leave (log %v)", log.list())
				}
			})
		})
	}
}

// r14Val is a value whose release the test watches.
type r14Val struct {
	id int32
	_  [64]byte
}

// TestReview14OrphanValueReleased: once the stale refresh's value has had
// its OnEvict, the cache keeps no reference to it, even if the Loader kept
// its context.
func TestReview14OrphanValueReleased(t *testing.T) {
	for _, staleBy := range []string{"Delete", "Set"} {
		t.Run(staleBy, func(t *testing.T) {
			gate := make(chan struct{})
			var calls atomic.Int32
			var wp atomic.Pointer[weak.Pointer[r14Val]]
			var kept atomic.Value
			var evicted atomic.Int32
			c := newCache(t, func(ctx context.Context, k string) (*r14Val, error) {
				n := calls.Add(1)
				if n == 2 {
					kept.Store(ctx) // the Loader keeps its context
					<-gate
					v := &r14Val{id: n}
					w := weak.Make(v)
					wp.Store(&w)
					return v, nil
				}
				return &r14Val{id: n}, nil
			}, &Options[string, *r14Val]{
				RefreshAfter: time.Millisecond,
				OnEvict: func(_ string, v *r14Val, _ Reason) {
					if v.id == 2 {
						evicted.Add(1)
					}
				},
			})
			c.Get(context.Background(), "k")
			time.Sleep(5 * time.Millisecond)
			c.Get(context.Background(), "k") // starts the refresh
			for calls.Load() < 2 {
				time.Sleep(time.Millisecond)
			}
			if staleBy == "Delete" {
				c.Delete("k")
			} else {
				c.Set("k", &r14Val{id: 100})
			}
			close(gate)
			r4Quiesce(t, c)
			if n := evicted.Load(); n != 1 {
				t.Fatalf("stale refresh's value left %d times, want 1", n)
			}
			for range 5 {
				runtime.GC()
				if wp.Load().Value() == nil {
					break
				}
			}
			if wp.Load().Value() != nil {
				t.Errorf("stale refresh's value still reachable after its OnEvict")
			}
			runtime.KeepAlive(c)
			runtime.KeepAlive(kept.Load())
		})
	}
}

// TestReview14StaleDuringExpireAfter: with ExpireAfter, a refresh made stale
// while ExpireAfter runs for its value (outside the lock) leaves once; one
// made stale before its Loader returns leaves once without ExpireAfter
// being called for it.
func TestReview14StaleDuringExpireAfter(t *testing.T) {
	for _, when := range []string{"DuringExpireAfter", "BeforeFinish"} {
		t.Run(when, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				eaGate := make(chan struct{})
				var calls, eaCalls atomic.Int32
				log := &r14Log{}
				loader := r14Gated(&calls, gate, nil)
				if when == "DuringExpireAfter" {
					close(gate) // the Loader returns at once; ExpireAfter waits
				}
				c := newCache(t, loader, &Options[string, string]{
					RefreshAfter: time.Second, OnEvict: log.add,
					ExpireAfter: func(_ string, v string) time.Duration {
						if v == "k#2" {
							eaCalls.Add(1)
							if when == "DuringExpireAfter" {
								<-eaGate
							}
						}
						return time.Hour
					},
				})
				r14StartRefresh(t, c)
				c.Delete("k")
				if when == "DuringExpireAfter" {
					close(eaGate)
				} else {
					close(gate)
				}
				synctest.Wait()
				if n, whys := log.count("k#2"); n != 1 || whys[0] != "Deleted" {
					t.Errorf("k#2 left %d times %v, want once, Deleted (log %v)", n, whys, log.list())
				}
				if want := int32(0); when == "BeforeFinish" && eaCalls.Load() != want {
					t.Errorf("ExpireAfter called %d times for a refresh stale before it finished", eaCalls.Load())
				}
				c.Close()
				if n, _ := log.count("k#2"); n != 1 {
					t.Errorf("k#2 left again at Close (log %v)", log.list())
				}
			})
		})
	}
}

// TestReview14StaleRefreshOfLeasedValue: the refreshed value is leased when
// Delete makes the refresh stale: the refresh's value leaves at once (it
// holds no lease), the leased one at its release; each once.
func TestReview14StaleRefreshOfLeasedValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var calls atomic.Int32
		log := &r14Log{}
		c := newCache(t, r14Gated(&calls, gate, nil), &Options[string, string]{
			RefreshAfter: time.Second, OnEvict: log.add,
		})
		ctx := context.Background()
		v, release, err := c.Acquire(ctx, "k")
		if err != nil || v != "k#1" {
			t.Fatalf("Acquire = %q, %v", v, err)
		}
		time.Sleep(time.Second)
		_, rel2, _ := c.Acquire(ctx, "k") // a hit that starts the refresh
		rel2()
		synctest.Wait()
		c.Delete("k")
		if s := c.Stats(); s.AwaitingRelease != 1 {
			t.Fatalf("AwaitingRelease = %d, want 1", s.AwaitingRelease)
		}
		close(gate)
		synctest.Wait()
		if n, whys := log.count("k#2"); n != 1 || whys[0] != "Deleted" {
			t.Errorf("k#2 left %d times %v, want once, Deleted (log %v)", n, whys, log.list())
		}
		if n, _ := log.count("k#1"); n != 0 {
			t.Errorf("k#1 left while leased (log %v)", log.list())
		}
		release()
		release()
		c.Close()
		if n, whys := log.count("k#1"); n != 1 || whys[0] != "Deleted" {
			t.Errorf("k#1 left %d times %v, want once, Deleted (log %v)", n, whys, log.list())
		}
		if n, _ := log.count("k#2"); n != 1 {
			t.Errorf("k#2 left %d times (log %v)", n, log.list())
		}
	})
}

// TestReview14StaleRefreshBounded: under a bound (LRU, TinyLFU), a stale
// refresh's value leaves without taking a place: nothing is evicted for
// it, Len and Keys are those of the stored values.
func TestReview14StaleRefreshBounded(t *testing.T) {
	for _, pol := range []Policy{LRU, TinyLFU} {
		t.Run(fmt.Sprint(pol), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				var calls atomic.Int32
				log := &r14Log{}
				c := newCache(t, r14Gated(&calls, gate, nil), &Options[string, string]{
					MaxEntries: 2, Policy: pol, RefreshAfter: time.Second, OnEvict: log.add,
				})
				r14StartRefresh(t, c)
				c.Set("o", "other")
				c.Set("k", "set")
				close(gate)
				synctest.Wait()
				if n, whys := log.count("k#2"); n != 1 || whys[0] != "Replaced" {
					t.Errorf("k#2 left %d times %v, want once, Replaced (log %v)", n, whys, log.list())
				}
				if got := c.Len(); got != 2 {
					t.Errorf("Len = %d, want 2", got)
				}
				keys := c.Keys()
				slices.Sort(keys)
				if !slices.Equal(keys, []string{"k", "o"}) {
					t.Errorf("Keys = %v, want k, o", keys)
				}
				if s := c.Stats(); s.Evictions != 0 {
					t.Errorf("Evictions = %d, want 0 (log %v)", s.Evictions, log.list())
				}
			})
		})
	}
}
