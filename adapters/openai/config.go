package openai

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unique"

	"github.com/openai/openai-go/v3/option"
)

const (
	// DefaultTimeout is the per-attempt timeout of a Config whose Timeout is
	// 0, and of ConfigFromEnv when OPENAI_TIMEOUT is unset.
	DefaultTimeout = 300 * time.Second

	// DefaultMaxRetries is the number of retries ConfigFromEnv sets when
	// OPENAI_MAX_RETRIES is unset. A Config's MaxRetries has no default: 0
	// means no retries.
	DefaultMaxRetries = 3

	// MaxRetriesLimit is the largest MaxRetries that Get and ConfigFromEnv
	// accept. With openai-go's backoff (0.5 s, doubling, at most 8 s per
	// wait), 10 retries wait about a minute in all; more would mostly
	// hammer a failing server.
	MaxRetriesLimit = 10

	// defaultBaseURL is the OpenAI API, where a Config whose BaseURL is ""
	// sends its requests.
	defaultBaseURL = "https://api.openai.com/v1"
)

// A Config is every setting that shapes an openai-go client. [Clients.Get]
// keeps one client per distinct Config, so two Configs that differ in any
// field, including a rotated APIKey, get different clients (once defaults
// are filled in: a Timeout of 0 is DefaultTimeout).
//
// A Config is a comparable value. The zero value is not usable, since it has
// no APIKey. [ConfigFromEnv] fills a Config from the environment variables
// that openai-go reads; a Config built by hand carries no admin key, webhook
// secret or custom headers.
//
// Defaults differ between the two ways to make a Config. In a Config built
// by hand, Timeout 0 means DefaultTimeout, but MaxRetries 0 means no retries
// at all: a failed attempt fails the call. ConfigFromEnv sets MaxRetries to
// DefaultMaxRetries (3) when OPENAI_MAX_RETRIES is unset, as openai-go does;
// set MaxRetries yourself to retry with a Config built by hand.
//
// A Config never shows its secrets: the fmt verbs, MarshalJSON and LogValue
// print the APIKey (and the admin key) as a short fingerprint, "hmac:"
// and 8 hex digits (keyed per process: see the package documentation), the
// webhook secret as "set", the custom headers by name only, and the BaseURL
// without a user name or password. Two limits come from fmt, which prints the raw
// fields of a Config without asking it in two cases: %p of a Config value
// (not of a *Config), and a Config inside an unexported field of another
// struct. Then the APIKey and BaseURL show as they are; the admin key,
// webhook secret and custom headers do not, as they sit behind a pointer,
// which prints as an address. So pass fmt a Config or a *Config itself,
// with any verb but %p for a Config value.
type Config struct {
	// APIKey authenticates every request, as "Authorization: Bearer APIKey".
	// It is required.
	APIKey string

	// BaseURL is the API's base URL, such as "http://localhost:8080/v1";
	// "" means "https://api.openai.com/v1". White space around it and a
	// trailing slash make no difference. It must be an absolute http or
	// https URL with a valid port and without a query or fragment, which
	// openai-go would drop. A user name and password are allowed but never
	// sent (openai-go sends the key in the Authorization header) nor shown.
	BaseURL string

	// Organization and Project, when not "", are sent in the
	// OpenAI-Organization and OpenAI-Project headers. Like APIKey, they
	// must not hold control characters (a line ending among them) nor
	// white space at either end.
	Organization, Project string

	// Timeout bounds each attempt of a request: sending it, waiting for the
	// response and reading the response body or stream to its end. With
	// retries, a call can take (MaxRetries+1) × Timeout plus the backoff
	// between attempts; bound the whole call with a context deadline. 0 means
	// DefaultTimeout; a negative Timeout is an error.
	Timeout time.Duration

	// MaxRetries is the number of times a failed attempt (a connection error,
	// a timeout, or a status 408, 409, 429 or 5xx) is retried, with backoff.
	// 0 means no retries: unlike Timeout, MaxRetries has no default in a
	// Config built by hand (ConfigFromEnv's is DefaultMaxRetries). A
	// negative MaxRetries, or one above MaxRetriesLimit, is an error.
	MaxRetries int

	// secrets holds the settings that only ConfigFromEnv sets; it is the
	// zero Handle when none is set. A Handle is a pointer, so that fmt,
	// where it prints a Config's raw fields, prints an address in place of
	// the secrets; and an interned one, so that equal secrets give equal
	// Handles and Configs compare by their values.
	secrets unique.Handle[secrets]

	// listed is what a copy returned by Clients.Configs shows of the secrets
	// it no longer holds; the zero Handle in any other Config.
	listed unique.Handle[redaction]
}

// secrets are the settings of a Config that openai-go reads from the
// environment and that have no exported field, all of them secret.
type secrets struct {
	adminKey      string // OPENAI_ADMIN_KEY
	webhookSecret string // OPENAI_WEBHOOK_SECRET
	headers       string // OPENAI_CUSTOM_HEADERS: "Name: value" lines
}

// internSecrets returns the Handle of s: the zero Handle when s is empty,
// so that a Config from the environment without secrets equals one built by
// hand. Secrets that no Config holds any more are released by the garbage
// collector.
func internSecrets(s secrets) unique.Handle[secrets] {
	if s == (secrets{}) {
		return unique.Handle[secrets]{}
	}
	return unique.Make(s)
}

// secretValues returns the secrets of cfg; all "" when it has none.
func (cfg Config) secretValues() secrets {
	if cfg.secrets == (unique.Handle[secrets]{}) {
		return secrets{}
	}
	return cfg.secrets.Value()
}

// ErrNoAPIKey is returned by [Clients.Get] for a Config without an APIKey,
// and wrapped in the error of [ConfigFromEnv] when OPENAI_API_KEY is unset
// or empty.
var ErrNoAPIKey = errors.New("openai: missing API key")

// normalize returns cfg with its defaults filled in, or an error that names
// the field at fault. It does not allocate, and so checks neither BaseURL
// nor the header values: see check.
func (cfg Config) normalize() (Config, error) {
	switch {
	case cfg.APIKey == "":
		return Config{}, ErrNoAPIKey
	}
	if err := checkLimits("Config", cfg.Timeout, cfg.MaxRetries); err != nil {
		return Config{}, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.BaseURL = strings.TrimSuffix(strings.TrimSpace(cfg.BaseURL), "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL
	}
	// What a listed copy shows is for display only; it never shapes a
	// client, so it must not split the cache key either.
	cfg.listed = unique.Handle[redaction]{}
	return cfg, nil
}

// check reports whether the fields of cfg, which must be normalized, can go
// into a request: header values without control characters, and a usable
// BaseURL. Its errors name the field and never repeat its value.
func (cfg Config) check() error {
	for _, f := range [...]struct{ name, value string }{
		{"APIKey", cfg.APIKey}, {"Organization", cfg.Organization}, {"Project", cfg.Project},
	} {
		if err := checkHeaderValue(f.value); err != nil {
			return fmt.Errorf("openai: Config.%s: %w", f.name, err)
		}
	}
	if cfg.BaseURL != defaultBaseURL {
		if err := checkBaseURL(cfg.BaseURL); err != nil {
			return fmt.Errorf("openai: Config.BaseURL: %w", err)
		}
	}
	return nil
}

// limits returns the per-attempt timeout and the retries of cfg.
func (cfg Config) limits() (time.Duration, int) { return cfg.Timeout, cfg.MaxRetries }

// clientOptions returns the openai-go options that set every setting of cfg,
// which must be normalized and checked, but for the timeout and retries.
//
// They come after Options.RequestOptions, and set each setting, even to
// empty, so that they override any of those options that set the same: a
// client sends what its Config says, which is what its log records show.
func (cfg Config) clientOptions() []option.RequestOption {
	sec := cfg.secretValues()
	opts := []option.RequestOption{
		option.WithBaseURL(sendURL(cfg.BaseURL)),
		option.WithWebhookSecret(sec.webhookSecret),
	}
	// Where an endpoint accepts both credentials, openai-go prefers the one
	// set last, and the environment sets the admin key last.
	if sec.adminKey == "" {
		opts = append(opts, option.WithAdminAPIKey(""), option.WithAPIKey(cfg.APIKey))
	} else {
		opts = append(opts, option.WithAPIKey(cfg.APIKey), option.WithAdminAPIKey(sec.adminKey))
	}
	// ConfigFromEnv refuses custom headers that name Authorization,
	// OpenAI-Organization or OpenAI-Project, which the options above and
	// below set.
	for name, value := range headerLines(sec.headers) {
		opts = append(opts, option.WithHeader(name, value))
	}
	opts = append(opts, option.WithOrganization(cfg.Organization), option.WithProject(cfg.Project))
	if cfg.Organization == "" {
		opts = append(opts, option.WithHeaderDel("OpenAI-Organization"))
	}
	if cfg.Project == "" {
		opts = append(opts, option.WithHeaderDel("OpenAI-Project"))
	}
	return opts
}

// checkLimits returns an error naming the field of the config type typ
// (Config or AzureConfig) whose timeout or retry count is out of range.
func checkLimits(typ string, timeout time.Duration, maxRetries int) error {
	switch {
	case timeout < 0:
		return fmt.Errorf("openai: %s.Timeout %v is negative", typ, timeout)
	case maxRetries < 0:
		return fmt.Errorf("openai: %s.MaxRetries %d is negative", typ, maxRetries)
	case maxRetries > MaxRetriesLimit:
		return fmt.Errorf("openai: %s.MaxRetries %d is more than MaxRetriesLimit (%d)", typ, maxRetries, MaxRetriesLimit)
	}
	return nil
}
