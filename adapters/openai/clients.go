package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/reuse-go/reuse/keyedcache"
)

// ErrClosed is returned by [Clients.Get] and [Clients.FromEnv] after
// [Clients.Close].
var ErrClosed = errors.New("openai: Clients closed")

// ErrCloseDefault is returned by [Clients.Close] on the Clients of
// [Default], which stays open: GetClient, anywhere in the process, relies on
// it.
var ErrCloseDefault = errors.New("openai: the default Clients is shared by the process and cannot be closed")

// Options configure a [Clients]. The zero value, like a nil *Options, keeps
// every client for good, logs to slog.Default() and shares one tuned
// transport.
type Options struct {
	// MaxClients, when > 0, bounds the number of clients kept: creating one
	// more drops the least recently used. 0 keeps every client.
	MaxClients int

	// TTL, when > 0, drops a client TTL after it was created, so that the
	// next Get of its Config creates a new one. 0 keeps clients until they
	// are dropped otherwise.
	TTL time.Duration

	// Logger receives a record at level Info for every client created and at
	// level Debug for every client reused or dropped. nil means the
	// slog.Default() of the time New is called.
	Logger *slog.Logger

	// HTTPClient, when not nil, sends the requests of every client, in place
	// of the tuned transport; Clients neither changes nor closes it.
	HTTPClient *http.Client

	// MaxIdleConnsPerHost is the number of idle connections per host that
	// the tuned transport keeps for reuse. 0 means 100, enough for 100
	// concurrent requests to one host to reuse their connections over
	// HTTP/1.1. It has no effect with HTTPClient.
	MaxIdleConnsPerHost int
}

// Clients keeps one openai-go client per distinct [Config], created on first
// use and shared by every later caller, so that the clients reuse their HTTP
// connections. All of its clients send their requests through one
// http.Client: a tuned transport of its own, or Options.HTTPClient.
//
// A Clients is safe for concurrent use by multiple goroutines. Create one
// with [New]; the zero value is not usable.
type Clients struct {
	cache      *keyedcache.KeyedCache[Config, *entry]
	logger     *slog.Logger
	httpClient *http.Client    // given to every client
	transport  *http.Transport // httpClient's, when it is our own; else nil
	shared     bool            // the Clients of Default, which Close leaves open
}

// An entry is a cached client and the attributes that describe it in logs.
type entry struct {
	client openai.Client
	attrs  []slog.Attr
}

// New returns an empty Clients with the given options; nil opts means the
// zero Options. New returns an error if an option is negative.
func New(opts *Options) (*Clients, error) {
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
	c := &Clients{logger: o.Logger, httpClient: o.HTTPClient}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.httpClient == nil {
		perHost := o.MaxIdleConnsPerHost
		if perHost == 0 {
			perHost = defaultMaxIdleConnsPerHost
		}
		c.transport = newTransport(perHost)
		c.httpClient = &http.Client{Transport: c.transport}
	}
	cache, err := keyedcache.New(c.load, &keyedcache.Options[Config, *entry]{
		MaxEntries: o.MaxClients,
		TTL:        o.TTL,
		OnEvict:    c.logRemoved,
	})
	if err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	c.cache = cache
	return c, nil
}

// Get returns the client for cfg, creating it on the first call for cfg (or
// for any Config equal to it once defaults are filled in). Concurrent calls
// for a new Config create one client, which all of them receive.
//
// The client depends on cfg alone. Unlike openai.NewClient, Get takes no
// setting from the environment: a setting that cfg leaves empty overrides
// what the OPENAI_ variables say. Use [ConfigFromEnv] or [Clients.FromEnv]
// to read the environment. (One exception: openai-go fails every request
// while OPENAI_BASE_URL is set to a value that is not a URL, so Get then
// returns an [*EnvError].)
//
// The client is shared: use it as it is, and do not change its fields. Get
// returns [ErrNoAPIKey] if cfg has no APIKey (as the Configs listed by
// [Clients.Configs] do not), an error if a field is out of range or BaseURL
// is not an absolute http or https URL, and [ErrClosed] after Close. A
// Config that Get rejects counts in no Stats. When the logger has Debug
// disabled, reusing a client does not allocate.
func (c *Clients) Get(cfg Config) (*openai.Client, error) {
	cfg, err := c.normalize(cfg)
	if err != nil {
		return nil, err
	}
	return c.get(cfg)
}

// normalize returns cfg with its defaults filled in, or an error, before cfg
// reaches the cache, so that a bad Config counts in no Stats and starts no
// load. It parses cfg.BaseURL unless a client for cfg is kept, whose
// BaseURL was checked when it was created: parsing a URL allocates, and
// reusing a client must not.
func (c *Clients) normalize(cfg Config) (Config, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return Config{}, err
	}
	if cfg.BaseURL == defaultBaseURL {
		return cfg, nil
	}
	if _, kept := c.cache.Peek(cfg); !kept {
		if err := checkBaseURL(cfg.BaseURL); err != nil {
			return Config{}, fmt.Errorf("openai: Config.BaseURL: %w", err)
		}
	}
	return cfg, nil
}

// get returns the client for cfg, which must be normalized and have a valid
// BaseURL.
func (c *Clients) get(cfg Config) (*openai.Client, error) {
	ctx := context.Background()
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		e, err := c.cache.Get(ctx, cfg)
		if err != nil {
			return nil, cacheError(err)
		}
		return &e.client, nil
	}
	lctx, created := withCreatedFlag(ctx)
	e, err := c.cache.Get(lctx, cfg)
	if err != nil {
		return nil, cacheError(err)
	}
	if !created.Load() {
		c.logReused(ctx, e)
	}
	return &e.client, nil
}

// load is the cache's Loader: it creates the client for cfg, which Get or
// ConfigFromEnv checked.
func (c *Clients) load(ctx context.Context, cfg Config) (*entry, error) {
	// openai.NewClient applies OPENAI_BASE_URL before our options, and a
	// value that does not parse makes every request fail, whatever follows.
	// The check is here, at creation, since that is when NewClient reads it.
	if base, ok := os.LookupEnv("OPENAI_BASE_URL"); ok {
		if _, err := url.Parse(base); err != nil {
			return nil, &EnvError{Var: "OPENAI_BASE_URL", Err: errors.New("not a valid URL, which makes openai-go fail every request")}
		}
	}
	e := &entry{
		client: openai.NewClient(cfg.options(c.httpClient)...),
		attrs:  cfg.logAttrs(),
	}
	markCreated(ctx)
	c.logCreated(ctx, e)
	return e, nil
}

// cacheError maps an error of the cache to one of this package.
func cacheError(err error) error {
	if errors.Is(err, keyedcache.ErrClosed) {
		return ErrClosed
	}
	var p *keyedcache.PanicError
	if errors.As(err, &p) {
		return fmt.Errorf("openai: creating a client: %w", err)
	}
	return err
}

// FromEnv returns the client for the Config that [ConfigFromEnv] reads, and
// the model to use: model itself if it is not "", else OPENAI_MODEL if it
// is set, else [DefaultModel]. It reads the environment on every call, so
// that a changed variable, such as a rotated OPENAI_API_KEY, gives a new
// client at once. When nothing changed and the logger has Debug disabled,
// FromEnv does not allocate.
func (c *Clients) FromEnv(model string) (*openai.Client, string, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, "", err
	}
	client, err := c.get(cfg)
	if err != nil {
		return nil, "", err
	}
	return client, envModel(model), nil
}

// Stats returns the cache's counters: hits are Gets that reused a client,
// misses those that created one (or waited for its creation), Entries the
// clients kept now.
func (c *Clients) Stats() keyedcache.Stats { return c.cache.Stats() }

// Len returns the number of clients kept.
func (c *Clients) Len() int { return c.cache.Len() }

// Configs returns the Configs of the clients kept, in no particular order,
// without their secrets: the APIKey and the other secrets are cleared, but
// the copies show what the originals show when printed, encoded or logged:
// the fingerprints of the API key and admin key, "set" for a webhook secret
// and the names of the custom headers. So Configs that differ only in a
// secret stay distinct in the listing, and no listed Config can be passed
// back to Get.
func (c *Clients) Configs() []Config {
	keys := c.cache.Keys()
	for i, k := range keys {
		keys[i] = k.redact()
	}
	return keys
}

// Clear drops every client, so that the next Get of any Config creates a new
// one. Clients already returned keep working, and the connections of the
// shared transport stay open for the new clients to reuse.
func (c *Clients) Clear() { c.cache.Clear() }

// Close drops every client and closes the idle connections of the tuned
// transport (not those of Options.HTTPClient). Later calls of Get and
// FromEnv return ErrClosed. Clients already returned keep working, but the
// connections they open after Close stay idle until the transport's idle
// timeout (90 s). Close is idempotent.
//
// On the Clients of [Default], Close does nothing and returns
// [ErrCloseDefault]: that Clients is shared by the whole process.
func (c *Clients) Close() error {
	if c.shared {
		return ErrCloseDefault
	}
	err := c.cache.Close()
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("openai: %w", err)
	}
	return nil
}
