package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests from the review of the loading list holding only the loads that
// are out of the table (refreshes, stale loads, NaN keys): Clear and Close
// find the others by walking the table.

// r18Invariant checks, under mu, at any moment: the loading list holds
// exactly stale loads and refreshes, none in the table, no node twice; the
// table's placeholders are not stale and not refreshes; running counts at
// least the list and the placeholders.
func r18Invariant[K comparable, V any](c *KeyedCache[K, V]) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bad []string
	seen := map[*entry[K, V]]bool{}
	n := 0
	for nd := c.loading.Front(); nd != nil; nd = c.loading.Next(nd) {
		e := entryOf[K, V](nd)
		if seen[e] {
			bad = append(bad, fmt.Sprintf("list holds %v twice", e.key))
			break
		}
		seen[e] = true
		n++
		if n > c.loading.Len()+1 {
			bad = append(bad, "list longer than Len")
			break
		}
		if e.st.Load()&stLoading == 0 {
			bad = append(bad, fmt.Sprintf("list holds %v, not loading (st %#x)", e.key, e.st.Load()))
		}
		l := e.ld.Load()
		if l == nil {
			bad = append(bad, fmt.Sprintf("list holds %v with no load", e.key))
			continue
		}
		if !l.stale && l.mode != modeRefresh {
			bad = append(bad, fmt.Sprintf("list holds %v, a load neither stale nor refresh", e.key))
		}
		if e.key == e.key && c.tab.lookup(e.hash(), e.key) == e {
			bad = append(bad, fmt.Sprintf("list holds %v, also in the table", e.key))
		}
	}
	if n != c.loading.Len() {
		bad = append(bad, fmt.Sprintf("list walk %d, Len %d", n, c.loading.Len()))
	}
	ph := 0
	c.tab.rangeLocked(func(e *entry[K, V]) bool {
		if e.st.Load()&stLoading == 0 {
			return true
		}
		ph++
		if seen[e] {
			bad = append(bad, fmt.Sprintf("placeholder %v also listed", e.key))
		}
		if l := e.ld.Load(); l != nil && (l.stale || l.mode == modeRefresh) {
			bad = append(bad, fmt.Sprintf("placeholder %v stale %v mode %d", e.key, l.stale, l.mode))
		}
		return true
	})
	if c.running < c.loading.Len()+ph {
		bad = append(bad, fmt.Sprintf("running %d < listed %d + placeholders %d", c.running, c.loading.Len(), ph))
	}
	return bad
}

type r18Val struct {
	seq int64 // load or Set number
}

type r18Cfg struct {
	name string
	opts func(onEvict func(float64, *r18Val, Reason)) *Options[float64, *r18Val]
}

func r18Configs() []r18Cfg {
	return []r18Cfg{
		{"unbounded", func(ev func(float64, *r18Val, Reason)) *Options[float64, *r18Val] {
			return &Options[float64, *r18Val]{OnEvict: ev}
		}},
		{"lru4-refresh", func(ev func(float64, *r18Val, Reason)) *Options[float64, *r18Val] {
			return &Options[float64, *r18Val]{OnEvict: ev, MaxEntries: 4, RefreshAfter: time.Microsecond}
		}},
		{"tiny4-ttl", func(ev func(float64, *r18Val, Reason)) *Options[float64, *r18Val] {
			return &Options[float64, *r18Val]{OnEvict: ev, MaxEntries: 4, Policy: TinyLFU, TTL: 200 * time.Microsecond}
		}},
		{"expireafter-refresh", func(ev func(float64, *r18Val, Reason)) *Options[float64, *r18Val] {
			return &Options[float64, *r18Val]{OnEvict: ev, RefreshAfter: 2 * time.Microsecond, ExpireAfter: func(_ float64, v *r18Val) time.Duration {
				return time.Duration(v.seq%5) * 30 * time.Microsecond
			}}
		}},
	}
}

type r18ctxKey struct{}

// TestReview18Stress drives every kind of call at once, with a checker that
// verifies the loading structures under mu while loads are in flight.
func TestReview18Stress(t *testing.T) {
	dur := 1500 * time.Millisecond
	if testing.Short() || raceEnabled {
		dur = 300 * time.Millisecond
	}
	for _, amid := range []bool{false, true} {
		for _, cfg := range r18Configs() {
			t.Run(fmt.Sprint(cfg.name, amid), func(t *testing.T) {
				var seq atomic.Int64
				var mu sync.Mutex
				evicted := map[*r18Val]int{}
				var dupEvict atomic.Int32
				onEvict := func(_ float64, v *r18Val, _ Reason) {
					mu.Lock()
					evicted[v]++
					if evicted[v] > 1 {
						dupEvict.Add(1)
					}
					mu.Unlock()
				}
				var bg sync.WaitGroup
				var hung atomic.Int32
				var stale atomic.Int32
				var cp atomic.Pointer[KeyedCache[float64, *r18Val]]
				load := func(ctx context.Context, k float64) (*r18Val, error) {
					s := seq.Add(1)
					switch s % 11 {
					case 0:
						return nil, errors.New("fail")
					case 1:
						panic("boom")
					case 2:
						time.Sleep(time.Duration(s%50) * time.Microsecond)
					case 3:
						// Done and AfterFunc from another goroutine, racing
						// the completion.
						bg.Add(1)
						go func() {
							defer bg.Done()
							select {
							case <-ctx.Done():
							case <-time.After(5 * time.Second):
								hung.Add(1)
							}
						}()
						bg.Add(1)
						ch := make(chan struct{})
						context.AfterFunc(ctx, func() { close(ch) })
						go func() {
							defer bg.Done()
							select {
							case <-ch:
							case <-time.After(5 * time.Second):
								hung.Add(1)
							}
						}()
					case 4:
						cp.Load().Delete(k + 1)
					case 5:
						_ = cp.Load().Set(k+2, &r18Val{seq: -seq.Add(1)})
					case 6:
						if s%7 == 0 {
							cp.Load().Clear()
						}
					case 7:
						select {
						case <-ctx.Done():
							return nil, ctx.Err()
						case <-time.After(time.Duration(s%200) * time.Microsecond):
						}
					}
					return &r18Val{seq: s}, nil
				}
				c := newCache(t, Loader[float64, *r18Val](load), cfg.opts(onEvict))
				cp.Store(c)

				stop := make(chan struct{})
				var wg sync.WaitGroup
				var bad atomic.Pointer[[]string]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if b := r18Invariant(cp.Load()); len(b) > 0 && bad.Load() == nil {
							bad.Store(&b)
						}
						time.Sleep(20 * time.Microsecond)
					}
				}()
				key := func(r *rand.Rand) float64 {
					if r.IntN(20) == 0 {
						return math.NaN()
					}
					return float64(r.IntN(8))
				}
				for w := range 6 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := rand.New(rand.NewPCG(uint64(w), 18))
						for {
							select {
							case <-stop:
								return
							default:
							}
							c := cp.Load()
							k := key(r)
							var ctx context.Context
							var cancel context.CancelFunc = func() {}
							switch r.IntN(4) {
							case 0:
								ctx = context.Background()
							case 1:
								ctx = context.WithValue(context.Background(), r18ctxKey{}, 1)
							case 2:
								ctx, cancel = context.WithTimeout(context.Background(), time.Duration(r.IntN(30))*time.Microsecond)
							default:
								ctx, cancel = context.WithCancel(context.Background())
							}
							switch r.IntN(10) {
							case 0, 1, 2, 3:
								_, _ = c.Get(ctx, k)
							case 4, 5:
								_, rel, _ := c.Acquire(ctx, k)
								rel()
							case 6:
								c.Delete(k)
							case 7:
								_ = c.Set(k, &r18Val{seq: -seq.Add(1)})
							case 8:
								if r.IntN(5) == 0 {
									mark := seq.Load()
									c.Clear()
									k := float64(r.IntN(8))
									if v, err := c.Get(context.Background(), k); err == nil && v.seq > 0 && v.seq <= mark {
										stale.Add(1)
									}
								} else {
									c.Peek(k)
								}
							case 9:
								go cancel()
								_, _ = c.Get(ctx, k)
							}
							cancel()
						}
					}()
				}
				if amid {
					for range 40 {
						time.Sleep(dur / 40)
						closed := make(chan struct{})
						go func() {
							c.Close()
							close(closed)
						}()
						select {
						case <-closed:
						case <-time.After(5 * time.Second):
							t.Fatalf("Close hung")
						}
						if b := r18Invariant(c); len(b) > 0 {
							t.Errorf("after Close: %v", b)
						}
						r4Check(t, c) // nothing running, nothing listed
						c, _ = New(load, cfg.opts(onEvict))
						cp.Store(c)
					}
				} else {
					time.Sleep(dur)
				}
				close(stop)
				wg.Wait()
				t.Logf("%+v seq %d", c.Stats(), seq.Load())
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				bg.Wait()
				if p := bad.Load(); p != nil {
					t.Errorf("invariant broken in flight: %v", *p)
				}
				if h := hung.Load(); h > 0 {
					t.Errorf("%d Loader contexts never ended", h)
				}
				if n := stale.Load(); n > 0 {
					t.Errorf("%d Gets after Clear returned a value loaded before it", n)
				}
				if d := dupEvict.Load(); d > 0 {
					t.Errorf("%d values got OnEvict twice", d)
				}
				r4Check(t, c)
			})
		}
	}
}

// TestReview18DoneRacesCompletion calls the Loader's ctx.Done, Err and
// AfterFunc from another goroutine around the moment the load completes:
// every Done must close, Err must not report Canceled before Done closes.
func TestReview18DoneRacesCompletion(t *testing.T) {
	var wg sync.WaitGroup
	var hung, early atomic.Int32
	spin := func(n int) {
		for i := 0; i < n; i++ {
			_ = i * i
		}
	}
	c := newCache(t, func(ctx context.Context, k int) (int, error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spin(k % 400)
			var ch <-chan struct{}
			switch k % 3 {
			case 0:
				ch = ctx.Done()
			case 1:
				if ctx.Err() != nil {
					select {
					case <-ctx.Done():
					default:
						early.Add(1)
					}
				}
				ch = ctx.Done()
			case 2:
				done := make(chan struct{})
				context.AfterFunc(ctx, func() { close(done) })
				ch = done
			}
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
				hung.Add(1)
			}
		}()
		spin(k % 200)
		return k, nil
	}, nil)
	loads := 60000
	if testing.Short() || raceEnabled {
		loads = 15000
	}
	for k := range loads {
		if _, err := c.Get(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		if k%1000 == 0 {
			c.Clear()
		}
	}
	wg.Wait()
	if n := hung.Load(); n > 0 {
		t.Errorf("%d Loader contexts never ended", n)
	}
	if n := early.Load(); n > 0 {
		t.Errorf("%d Err before Done closed", n)
	}
}
