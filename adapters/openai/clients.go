package openai

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/reuse-go/reuse/keyedcache"
)

// ErrClosed is returned by [Clients.Get] and [Clients.FromEnv] (and their
// AzureClients counterparts) after Close, before any check of their
// argument. It matches [keyedcache.ErrClosed] with errors.Is, as the error
// of a closed cache does.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "openai: Clients closed" }

// Is reports whether target is keyedcache.ErrClosed, so that code that
// checks for a closed cache recognizes a closed Clients.
func (closedError) Is(target error) bool { return target == keyedcache.ErrClosed }

// ErrCloseDefault is returned by [Clients.Close] on the Clients of
// [Default], which stays open: GetClient, anywhere in the process, relies on
// it.
var ErrCloseDefault = errors.New("openai: the default Clients is shared by the process and cannot be closed")

// Options configure a [Clients] or an [AzureClients]. The zero value, like a
// nil *Options, keeps every client for good, logs to slog.Default() and
// shares one tuned transport.
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
	// HTTP/1.1. It has no effect with HTTPClient, nor where the tuned
	// transport is not used (see WrapTransport).
	MaxIdleConnsPerHost int

	// WrapTransport, when not nil, is called once, by New, with the tuned
	// transport, and returns the http.RoundTripper that sends the requests
	// of every client: a wrapper for tracing or metrics, such as
	// otelhttp.NewTransport, that hands each request on to the tuned
	// transport, whose pool all clients then share. It must not return nil.
	// It has no effect with HTTPClient.
	//
	// Without WrapTransport or HTTPClient, the clients use the tuned
	// transport, unless the program replaced http.DefaultTransport by
	// another http.RoundTripper (as in the usual OpenTelemetry set-up,
	// http.DefaultTransport = otelhttp.NewTransport(http.DefaultTransport)):
	// then they send through http.DefaultTransport, as openai.NewClient
	// does, so that they are traced too, but with the pool and the 2 idle
	// connections per host of the transport it wraps. Set WrapTransport to
	// have both.
	WrapTransport func(http.RoundTripper) http.RoundTripper

	// RequestOptions are openai-go request options applied to every client
	// that the Clients creates, before the settings of its Config, so that
	// these win: for example option.WithMiddleware (logging, tracing,
	// metrics), option.WithMaxRetryDelay or option.WithHeader. They are part
	// of every client, not of the cache key: all clients get the same.
	//
	// An option that sets what a Config sets is overridden by the Config,
	// since a cache keyed by Config must not hand out a client that sends
	// something else: option.WithBaseURL, WithAPIKey, WithAdminAPIKey,
	// WithOrganization, WithProject, WithWebhookSecret, WithMaxRetries,
	// WithRequestTimeout (Config.Timeout bounds each attempt), WithHTTPClient
	// (use Options.HTTPClient or WrapTransport), and WithHeader or
	// WithHeaderDel of Authorization, OpenAI-Organization or OpenAI-Project.
	// Options that bring credentials or an endpoint of their own make every
	// request fail, as openai-go refuses them beside the Config's:
	// option.WithDataResidency (set the Config's BaseURL instead),
	// option.WithWorkloadIdentity and the options of the azure package (use
	// [AzureClients]). To vary a setting per call, pass request options to
	// the call.
	RequestOptions []option.RequestOption
}

// Clients keeps one openai-go client per distinct [Config], created on first
// use and shared by every later caller, so that the clients reuse their HTTP
// connections. All of its clients send their requests through one
// http.Client: a tuned transport of its own, or Options.HTTPClient.
//
// A Clients is safe for concurrent use by multiple goroutines. Create one
// with [New]; the zero value is not usable. Printed with any fmt verb,
// encoded as JSON or logged, a Clients shows the number of its clients and
// its hits and misses, never a Config.
type Clients struct {
	p *pool[Config]
}

// New returns an empty Clients with the given options; nil opts means the
// zero Options. New returns an error if an option is negative, a request
// option is nil, or WrapTransport returns nil.
func New(opts *Options) (*Clients, error) {
	p, err := newPool[Config]("Clients", opts)
	if err != nil {
		return nil, err
	}
	return &Clients{p: p}, nil
}

// Get returns the client for cfg, creating it on the first call for cfg (or
// for any Config equal to it once defaults are filled in). Concurrent calls
// for a new Config create one client, which all of them receive.
//
// The client depends on cfg alone (and on Options.RequestOptions): unlike
// openai.NewClient, Get takes no setting from the environment, and a
// setting that cfg leaves empty stays empty whatever the OPENAI_ variables
// say. Use [ConfigFromEnv] or [Clients.FromEnv] to read the environment.
//
// The client is shared: use it as it is, and do not change its fields. Get
// returns [ErrClosed] after Close; [ErrNoAPIKey] if cfg has no APIKey (as
// the Configs listed by [Clients.Configs] do not); and an error that names
// the field if a field is out of range, a value cannot go into a header, or
// BaseURL is not an absolute http or https URL without a query or fragment.
// A Config that Get rejects counts in no Stats. When the logger has Debug
// disabled, reusing a client does not allocate.
func (c *Clients) Get(cfg Config) (*openai.Client, error) {
	return c.p.getChecked(cfg, Config.normalize, Config.check)
}

// FromEnv returns the client for the Config that [ConfigFromEnv] reads, and
// the model to use: model itself if it is not "", else OPENAI_MODEL if it
// is set, else [DefaultModel]. It reads the environment on every call, so
// that a changed variable, such as a rotated OPENAI_API_KEY, gives a new
// client at once; the client is built from that one reading. When nothing
// changed and the logger has Debug disabled, FromEnv does not allocate.
func (c *Clients) FromEnv(model string) (*openai.Client, string, error) {
	return c.p.fromEnv(ConfigFromEnv, model)
}

// Stats returns the cache's counters: hits are Gets that reused a client,
// misses those that created one (or waited for its creation), Entries the
// clients kept now.
func (c *Clients) Stats() keyedcache.Stats { return c.p.cache.Stats() }

// Len returns the number of clients kept.
func (c *Clients) Len() int { return c.p.cache.Len() }

// Configs returns the Configs of the clients kept, in no particular order,
// without their secrets: the APIKey and the other secrets are cleared, and
// the BaseURL shows no user name or password. The copies show what the
// originals show when printed, encoded or logged: the fingerprints of the
// API key and admin key, "set" for a webhook secret and the names of the
// custom headers. So Configs that differ only in a secret stay distinct in
// the listing, and no listed Config can be passed back to Get.
func (c *Clients) Configs() []Config {
	keys, _ := c.p.listed(Config.redact)
	return keys
}

// ClientStats returns, for each client kept, its Config as [Clients.Configs]
// lists it and the counts of the HTTP requests it sent, in no particular
// order. Counting costs a few atomic additions per request.
func (c *Clients) ClientStats() []ClientStats {
	keys, stats := c.p.listed(Config.redact)
	out := make([]ClientStats, len(keys))
	for i := range keys {
		out[i] = ClientStats{Config: keys[i], RequestStats: stats[i]}
	}
	return out
}

// ClientStats are the request counts of one client of a [Clients].
type ClientStats struct {
	Config Config // as Clients.Configs lists it: without secrets
	RequestStats
}

// Clear drops every client, so that the next Get of any Config creates a new
// one. Clients already returned keep working, and the connections of the
// shared transport stay open for the new clients to reuse.
func (c *Clients) Clear() { c.p.cache.Clear() }

// Close drops every client and closes the idle connections of the tuned
// transport (not those of Options.HTTPClient or of a wrapped
// http.DefaultTransport). Later calls of Get and FromEnv return ErrClosed.
// Clients already returned keep working, but the connections they open
// after Close stay idle until the transport's idle timeout (90 s). Close is
// idempotent.
//
// On the Clients of [Default], Close does nothing and returns
// [ErrCloseDefault]: that Clients is shared by the whole process.
func (c *Clients) Close() error { return c.p.close() }
