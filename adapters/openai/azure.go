package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/reuse-go/reuse/keyedcache"
)

// An AzureConfig is every setting that shapes an openai-go client for Azure
// OpenAI, built with openai-go's azure package. [AzureClients.Get] keeps one
// client per distinct AzureConfig (once defaults are filled in).
//
// An AzureConfig is a comparable value; the zero value is not usable. Like
// a Config, it never shows its secret: the fmt verbs, MarshalJSON and
// LogValue print the APIKey as a fingerprint, with the same limits (see
// [Config]). Microsoft Entra ID token credentials (azure.WithTokenCredential)
// are not supported yet.
type AzureConfig struct {
	// Endpoint is the Azure OpenAI resource, such as
	// "https://my-resource.openai.azure.com"; requests go to
	// Endpoint/openai/deployments/{model}/..., the model of each request
	// naming the deployment. It is required. It must be https, but for
	// plain http to localhost or a loopback address (a local test server),
	// for which the client allows plain HTTP with azure.WithUnsafeAllowHTTP.
	// A trailing slash makes no difference.
	Endpoint string

	// APIVersion is the Azure OpenAI API version, such as "2024-10-21",
	// sent in the api-version query parameter. It is required.
	APIVersion string

	// APIKey is sent in the api-key header. It is required.
	APIKey string

	// Timeout bounds each attempt of a request, as Config.Timeout does; 0
	// means DefaultTimeout.
	Timeout time.Duration

	// MaxRetries is the number of retries of a failed attempt, as
	// Config.MaxRetries; 0 means none, at most MaxRetriesLimit.
	MaxRetries int

	// listed is what a copy returned by AzureClients.Configs shows of the
	// key it no longer holds: its fingerprint.
	listed string
}

// azureEnvNames are the variables that AzureConfigFromEnv reads.
var azureEnvNames = [...]string{
	"AZURE_OPENAI_ENDPOINT",
	"AZURE_OPENAI_API_KEY",
	"OPENAI_API_VERSION",
	"OPENAI_TIMEOUT",
	"OPENAI_MAX_RETRIES",
}

type azureEnvParse struct {
	raw [len(azureEnvNames)]string
	cfg AzureConfig
}

// lastAzureEnv is the latest successful parse of AzureConfigFromEnv.
var lastAzureEnv atomic.Pointer[azureEnvParse]

// AzureConfigFromEnv returns the AzureConfig described by the environment:
// AZURE_OPENAI_ENDPOINT (required), AZURE_OPENAI_API_KEY (required),
// OPENAI_API_VERSION (required), and OPENAI_TIMEOUT and OPENAI_MAX_RETRIES
// as [ConfigFromEnv] reads them. Each unusable value gives an [*EnvError]
// that names its variable and never repeats the value; when several are
// bad, the error joins one per variable. A TokenCredential cannot come from
// the environment: set it in an AzureConfig built in code.
//
// Reading the environment again with unchanged values does not allocate.
func AzureConfigFromEnv() (AzureConfig, error) {
	var raw [len(azureEnvNames)]string
	for i, name := range azureEnvNames {
		raw[i] = os.Getenv(name)
	}
	if p := lastAzureEnv.Load(); p != nil && p.raw == raw {
		return p.cfg, nil
	}
	cfg := AzureConfig{
		Endpoint:   strings.TrimSpace(raw[0]),
		APIKey:     raw[1],
		APIVersion: strings.TrimSpace(raw[2]),
		MaxRetries: DefaultMaxRetries,
	}
	var errs []error
	bad := func(i int, err error) {
		errs = append(errs, &EnvError{Var: azureEnvNames[i], Err: err})
	}
	if cfg.Endpoint == "" {
		bad(0, errors.New("missing Azure OpenAI endpoint"))
	} else if err := checkAzureEndpoint(cfg.Endpoint); err != nil {
		bad(0, err)
	}
	if cfg.APIKey == "" {
		bad(1, ErrNoAPIKey)
	} else if err := checkHeaderValue(cfg.APIKey); err != nil {
		bad(1, err)
	}
	if err := checkAPIVersion(cfg.APIVersion); err != nil {
		bad(2, err)
	}
	if s := strings.TrimSpace(raw[3]); s != "" {
		d, err := parseTimeout(s)
		if err != nil {
			bad(3, err)
		}
		cfg.Timeout = d
	}
	if s := strings.TrimSpace(raw[4]); s != "" {
		n, err := parseMaxRetries(s)
		if err != nil {
			bad(4, err)
		}
		cfg.MaxRetries = n
	}
	if len(errs) > 0 {
		return AzureConfig{}, errors.Join(errs...)
	}
	cfg, err := cfg.normalize()
	if err != nil {
		return AzureConfig{}, err
	}
	lastAzureEnv.Store(&azureEnvParse{raw: raw, cfg: cfg})
	return cfg, nil
}

// normalize returns cfg with its defaults filled in, or an error that names
// the field at fault. It does not allocate: see check.
func (cfg AzureConfig) normalize() (AzureConfig, error) {
	switch {
	case cfg.Endpoint == "":
		return AzureConfig{}, errors.New("openai: AzureConfig.Endpoint is missing")
	case cfg.APIVersion == "":
		return AzureConfig{}, errors.New("openai: AzureConfig.APIVersion is missing")
	case cfg.APIKey == "":
		return AzureConfig{}, ErrNoAPIKey
	}
	if err := checkLimits("AzureConfig", cfg.Timeout, cfg.MaxRetries); err != nil {
		return AzureConfig{}, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Endpoint = strings.TrimSuffix(strings.TrimSpace(cfg.Endpoint), "/")
	cfg.APIVersion = strings.TrimSpace(cfg.APIVersion)
	cfg.listed = ""
	return cfg, nil
}

// check reports whether the fields of cfg, which must be normalized, can go
// into a request. Its errors name the field and never repeat its value.
func (cfg AzureConfig) check() error {
	if err := checkAzureEndpoint(cfg.Endpoint); err != nil {
		return fmt.Errorf("openai: AzureConfig.Endpoint: %w", err)
	}
	if err := checkAPIVersion(cfg.APIVersion); err != nil {
		return fmt.Errorf("openai: AzureConfig.APIVersion: %w", err)
	}
	if err := checkHeaderValue(cfg.APIKey); err != nil {
		return fmt.Errorf("openai: AzureConfig.APIKey: %w", err)
	}
	return nil
}

// checkAzureEndpoint reports whether endpoint is a URL that checkBaseURL
// accepts, without a user name or password, and https unless it is a
// loopback address.
func checkAzureEndpoint(endpoint string) error {
	if err := checkBaseURL(endpoint); err != nil {
		return err
	}
	u, _ := url.Parse(endpoint)
	switch {
	case u.User != nil:
		return errors.New("has a user name or password; Azure OpenAI takes an API key or a token credential")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return errors.New("is plain http to a host other than localhost or a loopback address; Azure credentials need https")
	}
	return nil
}

// loopback reports whether host is localhost or a loopback IP address, as
// the azure package judges it.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAPIVersion reports whether v looks like an API version: letters,
// digits, '-', '.' and '_', as in "2024-10-21" or "2025-04-01-preview".
func checkAPIVersion(v string) error {
	if v == "" {
		return errors.New(`missing API version, such as "2024-10-21"`)
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_') {
			return errors.New(`not an API version, such as "2024-10-21" (letters, digits, "-", "." and "_")`)
		}
	}
	return nil
}

func (cfg AzureConfig) limits() (time.Duration, int) { return cfg.Timeout, cfg.MaxRetries }

// clientOptions returns the options of openai-go's azure package for cfg,
// which must be normalized and checked.
func (cfg AzureConfig) clientOptions() []option.RequestOption {
	opts := []option.RequestOption{azure.WithEndpoint(cfg.Endpoint, cfg.APIVersion), azure.WithAPIKey(cfg.APIKey)}
	if strings.HasPrefix(cfg.Endpoint, "http://") {
		opts = append(opts, azure.WithUnsafeAllowHTTP())
	}
	return opts
}

// azureDisplay is what an AzureConfig shows of itself.
type azureDisplay struct {
	Endpoint   string `json:"endpoint"`
	APIVersion string `json:"api_version"`
	APIKey     string `json:"api_key"`
	Timeout    string `json:"timeout"`
	MaxRetries int    `json:"max_retries"`
}

func (cfg AzureConfig) display() azureDisplay {
	d := azureDisplay{
		Endpoint:   redactURL(cfg.Endpoint),
		APIVersion: cfg.APIVersion,
		APIKey:     fingerprint(cfg.APIKey),
		Timeout:    cfg.Timeout.String(),
		MaxRetries: cfg.MaxRetries,
	}
	if checkAPIVersion(cfg.APIVersion) != nil && cfg.APIVersion != "" {
		d.APIVersion = "(invalid API version)"
	}
	if cfg.listed != "" {
		d.APIKey = cfg.listed
	}
	return d
}

// redact returns a copy of cfg without its APIKey, for AzureClients.Configs;
// it shows the key's fingerprint.
func (cfg AzureConfig) redact() AzureConfig {
	out := cfg
	out.APIKey, out.listed = "", fingerprint(cfg.APIKey)
	return out
}

// String returns cfg's settings in the style of the %+v verb, with the
// APIKey shown as a fingerprint.
func (cfg AzureConfig) String() string {
	d := cfg.display()
	return fmt.Sprintf("{Endpoint:%s APIVersion:%s APIKey:%s Timeout:%s MaxRetries:%d}",
		d.Endpoint, d.APIVersion, d.APIKey, d.Timeout, d.MaxRetries)
}

// GoString returns cfg in the style of the %#v verb, without secrets.
func (cfg AzureConfig) GoString() string {
	d := cfg.display()
	return fmt.Sprintf("openai.AzureConfig{Endpoint:%q, APIVersion:%q, APIKey:%q, Timeout:%d, MaxRetries:%d}",
		d.Endpoint, d.APIVersion, d.APIKey, int64(cfg.Timeout), d.MaxRetries)
}

// Format implements [fmt.Formatter], as Config.Format does: %#v prints
// GoString, %q a quoted String, every other verb String.
func (cfg AzureConfig) Format(f fmt.State, verb rune) { formatRedacted(f, verb, cfg) }

// MarshalJSON encodes cfg's settings, without secrets, as a JSON object
// with the keys endpoint, api_version, api_key (a fingerprint), timeout and
// max_retries.
func (cfg AzureConfig) MarshalJSON() ([]byte, error) { return json.Marshal(cfg.display()) }

// LogValue implements [slog.LogValuer]: the attributes of MarshalJSON, as a
// group.
func (cfg AzureConfig) LogValue() slog.Value { return slog.GroupValue(cfg.logAttrs()...) }

func (cfg AzureConfig) logAttrs() []slog.Attr {
	d := cfg.display()
	return []slog.Attr{
		slog.String("endpoint", d.Endpoint),
		slog.String("api_version", d.APIVersion),
		slog.Duration("timeout", cfg.Timeout),
		slog.Int("max_retries", d.MaxRetries),
		slog.String("api_key", d.APIKey),
	}
}

// AzureClients keeps one openai-go client for Azure OpenAI per distinct
// [AzureConfig], as [Clients] does per Config, with the same options,
// logging, redaction and concurrency rules. Its clients send through one
// http.Client; for https endpoints that is the tuned transport (or
// Options.HTTPClient), while the azure package sends plain http to a
// loopback address through a direct transport of its own per client.
//
// An AzureClients is safe for concurrent use by multiple goroutines. Create
// one with [NewAzure]; the zero value is not usable.
type AzureClients struct {
	p *pool[AzureConfig]
}

// NewAzure returns an empty AzureClients with the given options, as [New]
// does. Options.RequestOptions that set an endpoint or credentials of their
// own (option.WithBaseURL, WithAPIKey, WithAdminAPIKey, WithDataResidency,
// the azure options) make the azure package refuse every request.
func NewAzure(opts *Options) (*AzureClients, error) {
	p, err := newPool[AzureConfig]("AzureClients", opts)
	if err != nil {
		return nil, err
	}
	return &AzureClients{p: p}, nil
}

// Get returns the client for cfg, creating it on the first call for cfg, as
// [Clients.Get] does. It returns [ErrClosed] after Close; [ErrNoAPIKey] if
// cfg has no APIKey; and an error that names the
// field for any other bad field. Call the client's services with the
// deployment name as the model.
func (c *AzureClients) Get(cfg AzureConfig) (*openai.Client, error) {
	return c.p.getChecked(cfg, AzureConfig.normalize, AzureConfig.check)
}

// FromEnv returns the client for the AzureConfig that [AzureConfigFromEnv]
// reads, and the model to use, which on Azure names the deployment: model
// itself if it is not "", else OPENAI_MODEL if it is set, else
// [DefaultModel].
func (c *AzureClients) FromEnv(model string) (*openai.Client, string, error) {
	return c.p.fromEnv(AzureConfigFromEnv, model)
}

// Stats returns the cache's counters, as [Clients.Stats] does.
func (c *AzureClients) Stats() keyedcache.Stats { return c.p.cache.Stats() }

// Len returns the number of clients kept.
func (c *AzureClients) Len() int { return c.p.cache.Len() }

// Configs returns the AzureConfigs of the clients kept, in no particular
// order, without their API keys, which they show as fingerprints.
func (c *AzureClients) Configs() []AzureConfig {
	keys, _ := c.p.listed(AzureConfig.redact)
	return keys
}

// ClientStats returns, for each client kept, its AzureConfig as Configs
// lists it and the counts of the HTTP requests it sent.
func (c *AzureClients) ClientStats() []AzureClientStats {
	keys, stats := c.p.listed(AzureConfig.redact)
	out := make([]AzureClientStats, len(keys))
	for i := range keys {
		out[i] = AzureClientStats{Config: keys[i], RequestStats: stats[i]}
	}
	return out
}

// AzureClientStats are the request counts of one client of an
// [AzureClients].
type AzureClientStats struct {
	Config AzureConfig // as AzureClients.Configs lists it: without the API key
	RequestStats
}

// Clear drops every client, as [Clients.Clear] does.
func (c *AzureClients) Clear() { c.p.cache.Clear() }

// Close drops every client and closes the idle connections of the tuned
// transport, as [Clients.Close] does. It is idempotent.
func (c *AzureClients) Close() error { return c.p.close() }

// String returns a summary such as "openai.AzureClients{clients:2 hits:5
// misses:2}", as Clients.String does.
func (c AzureClients) String() string { return c.p.summary().string("openai.AzureClients") }

// GoString returns the summary of String in the style of the %#v verb.
func (c AzureClients) GoString() string { return c.p.summary().goString("openai.AzureClients") }

// Format implements [fmt.Formatter], as Clients.Format does.
func (c AzureClients) Format(f fmt.State, verb rune) {
	c.p.summary().format(f, verb, "openai.AzureClients")
}

// MarshalJSON encodes the summary of String.
func (c AzureClients) MarshalJSON() ([]byte, error) { return json.Marshal(c.p.summary()) }

// LogValue implements [slog.LogValuer]: the summary of String, as a group.
func (c AzureClients) LogValue() slog.Value { return c.p.summary().logValue() }
