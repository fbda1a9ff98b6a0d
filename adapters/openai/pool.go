package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/reuse-go/reuse/keyedcache"
)

// A clientKey is a configuration that a pool keeps one client for: a
// Config or an AzureConfig, normalized and checked.
type clientKey interface {
	comparable
	// clientOptions returns the options that set the key's endpoint and
	// credentials, and every other setting it carries but for the timeout
	// and retries.
	clientOptions() []option.RequestOption
	// logAttrs returns the attributes that describe the key in logs.
	logAttrs() []slog.Attr
	// limits returns the per-attempt timeout and the number of retries.
	limits() (timeout time.Duration, maxRetries int)
}

// A pool is the cache of clients behind Clients and AzureClients: one
// openai-go client per key, created on first use, all sending their
// requests through one http.Client.
//
// A pool is safe for concurrent use; its fields are set by newPool and not
// changed after, but for closed.
type pool[K clientKey] struct {
	cache      *keyedcache.KeyedCache[K, *entry]
	logger     *slog.Logger
	httpClient *http.Client           // given to every client
	transport  *http.Transport        // the tuned transport, when httpClient uses it; else nil
	reqOpts    []option.RequestOption // Options.RequestOptions, applied before the key's
	closed     atomic.Bool            // set by close, before the cache closes
	shared     bool                   // the Clients of Default, which close leaves open
	kind       string                 // "Clients" or "AzureClients", for fmt
}

// An entry is a cached client, the attributes that describe it in logs and
// the counts of its requests.
type entry struct {
	client openai.Client
	attrs  []slog.Attr
	counts requestCounts
}

// newPool returns an empty pool with the options opts, which may be nil.
func newPool[K clientKey](kind string, opts *Options) (*pool[K], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxClients < 0:
		return nil, fmt.Errorf("openai: Options.MaxClients %d is negative", o.MaxClients)
	case o.TTL < 0:
		return nil, fmt.Errorf("openai: Options.TTL %v is negative", o.TTL)
	case o.MaxIdleConnsPerHost < 0:
		return nil, fmt.Errorf("openai: Options.MaxIdleConnsPerHost %d is negative", o.MaxIdleConnsPerHost)
	}
	for i, opt := range o.RequestOptions {
		if opt == nil {
			return nil, fmt.Errorf("openai: Options.RequestOptions[%d] is nil", i)
		}
	}
	p := &pool[K]{
		logger:  o.Logger,
		reqOpts: append([]option.RequestOption(nil), o.RequestOptions...),
		kind:    kind,
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	p.httpClient, p.transport = httpClient(&o)
	if p.httpClient.Transport == nil && o.HTTPClient == nil {
		return nil, errors.New("openai: Options.WrapTransport returned nil")
	}
	cache, err := keyedcache.New(p.load, &keyedcache.Options[K, *entry]{
		MaxEntries: o.MaxClients,
		TTL:        o.TTL,
		OnEvict:    p.logRemoved,
	})
	if err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	p.cache = cache
	return p, nil
}

// get returns the client for k, which must be normalized and checked.
func (p *pool[K]) get(k K) (*openai.Client, error) {
	ctx := context.Background()
	if !p.logger.Enabled(ctx, slog.LevelDebug) {
		e, err := p.cache.Get(ctx, k)
		if err != nil {
			return nil, cacheError(err)
		}
		return &e.client, nil
	}
	lctx, created := withCreatedFlag(ctx)
	e, err := p.cache.Get(lctx, k)
	if err != nil {
		return nil, cacheError(err)
	}
	if !created.Load() {
		p.logReused(ctx, e)
	}
	return &e.client, nil
}

// load is the cache's Loader: it creates the client for k.
//
// The options go in this order: Options.RequestOptions first, so that the
// settings of k override any of them that set the same thing; then k's
// own; then the middleware of this package, which runs inside any
// middleware of Options.RequestOptions (and outside any of a call).
func (p *pool[K]) load(ctx context.Context, k K) (*entry, error) {
	e := &entry{attrs: k.logAttrs()}
	timeout, retries := k.limits()
	own := k.clientOptions()
	opts := make([]option.RequestOption, 0, len(p.reqOpts)+len(own)+4)
	opts = append(opts, p.reqOpts...)
	opts = append(opts,
		option.WithHTTPClient(p.httpClient),
		option.WithMaxRetries(retries),
		// The attempt middleware bounds each attempt; openai-go's own
		// per-attempt timeout would end the call at the first timeout.
		option.WithRequestTimeout(0),
	)
	opts = append(opts, own...)
	opts = append(opts, option.WithMiddleware(e.counts.middleware, attemptTimeout(timeout)))
	e.client = newClient(opts...)
	markCreated(ctx)
	p.logCreated(ctx, e)
	return e, nil
}

// cacheError maps an error of the cache to one of this package.
func cacheError(err error) error {
	if errors.Is(err, keyedcache.ErrClosed) {
		return ErrClosed
	}
	var pe *keyedcache.PanicError
	if errors.As(err, &pe) {
		return fmt.Errorf("openai: creating a client: %w", err)
	}
	return err
}

// listed returns the keys of the clients kept, each passed through redact,
// with the counts of their requests.
func (p *pool[K]) listed(redact func(K) K) ([]K, []RequestStats) {
	keys := p.cache.Keys()
	stats := make([]RequestStats, 0, len(keys))
	out := keys[:0]
	for _, k := range keys {
		e, ok := p.cache.Peek(k)
		if !ok {
			continue // removed since Keys
		}
		out = append(out, redact(k))
		stats = append(stats, e.counts.snapshot())
	}
	return out, stats
}

// close closes the pool, unless it is shared.
func (p *pool[K]) close() error {
	if p.shared {
		return ErrCloseDefault
	}
	p.closed.Store(true)
	err := p.cache.Close()
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("openai: %w", err)
	}
	return nil
}

// summary is what fmt, JSON and slog show of a pool: counts only, never a
// key.
type summary struct {
	Clients int    `json:"clients"`
	Hits    uint64 `json:"hits"`
	Misses  uint64 `json:"misses"`
}

func (p *pool[K]) summary() summary {
	if p == nil {
		return summary{}
	}
	s := p.cache.Stats()
	return summary{Clients: p.cache.Len(), Hits: s.Hits, Misses: s.Misses}
}

// getChecked is the Get of Clients and AzureClients: ErrClosed after close,
// then the key normalized and, unless a client is kept for it, checked.
// A kept client's key was checked when the client was created; the check
// allocates, and reusing a client must not.
func (p *pool[K]) getChecked(key K, normalize func(K) (K, error), check func(K) error) (*openai.Client, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	key, err := normalize(key)
	if err != nil {
		return nil, err
	}
	if _, kept := p.cache.Peek(key); !kept {
		if err := check(key); err != nil {
			return nil, err
		}
	}
	return p.get(key)
}

// fromEnv is the FromEnv of Clients and AzureClients: ErrClosed after
// close, then the client for the key that read returns, and the model.
func (p *pool[K]) fromEnv(read func() (K, error), model string) (*openai.Client, string, error) {
	if p.closed.Load() {
		return nil, "", ErrClosed
	}
	key, err := read()
	if err != nil {
		return nil, "", err
	}
	client, err := p.get(key)
	if err != nil {
		return nil, "", err
	}
	return client, envModel(model), nil
}
