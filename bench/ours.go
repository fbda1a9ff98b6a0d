package bench

import (
	"context"

	"github.com/reuse-go/reuse/keyedcache"
)

// ours are the configurations of keyedcache under test.
var ours = []Impl{
	{Name: "keyedcache", Label: "keyedcache", New: newKeyedCache},
	{Name: "keyedcache-bounded", Label: "keyedcache (bounded)", Bounded: true, New: newBoundedKeyedCache},
	{Name: "keyedcache-tinylfu", Label: "keyedcache (TinyLFU)", Bounded: true, New: newTinyLFUKeyedCache},
}

func impls() []Impl {
	return append(append([]Impl(nil), peers...), ours...)
}

// keyedCache adapts keyedcache. Both Get and GetOrLoad are its Get, which
// loads a missing key once however many callers ask for it.
type keyedCache struct {
	c *keyedcache.KeyedCache[string, *Value]
}

func newKeyedCache(_ int, load LoadFunc) (Cache, error) {
	c, err := keyedcache.New(keyedcache.Loader[string, *Value](load), nil)
	if err != nil {
		return nil, err
	}
	return keyedCache{c}, nil
}

func newBoundedKeyedCache(size int, load LoadFunc) (Cache, error) {
	return newPolicyKeyedCache(size, load, keyedcache.LRU)
}

func newTinyLFUKeyedCache(size int, load LoadFunc) (Cache, error) {
	return newPolicyKeyedCache(size, load, keyedcache.TinyLFU)
}

// newPolicyKeyedCache returns keyedcache bounded at size under policy.
func newPolicyKeyedCache(size int, load LoadFunc, policy keyedcache.Policy) (Cache, error) {
	if size <= 0 {
		return nil, errNoSize
	}
	c, err := keyedcache.New(keyedcache.Loader[string, *Value](load),
		&keyedcache.Options[string, *Value]{MaxEntries: size, Policy: policy})
	if err != nil {
		return nil, err
	}
	return keyedCache{c}, nil
}

func (c keyedCache) Get(key string) (*Value, bool) {
	v, err := c.c.Get(context.Background(), key)
	return v, err == nil
}

func (c keyedCache) GetOrLoad(ctx context.Context, key string) (*Value, error) {
	return c.c.Get(ctx, key)
}

func (c keyedCache) Close() { _ = c.c.Close() }
