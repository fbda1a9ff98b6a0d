package openai

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"os"
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
// print the APIKey (and the admin key) as a short fingerprint,
// "sha256:" and 8 hex digits, the webhook secret as "set", and the custom
// headers by name only. Two limits come from fmt, which prints the raw
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
	// "" means "https://api.openai.com/v1". A trailing slash makes no
	// difference.
	BaseURL string

	// Organization and Project, when not "", are sent in the
	// OpenAI-Organization and OpenAI-Project headers.
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
	// negative MaxRetries is an error.
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
// the field at fault. It does not allocate, and so does not parse BaseURL:
// see Clients.normalize and checkBaseURL.
func (cfg Config) normalize() (Config, error) {
	switch {
	case cfg.APIKey == "":
		return Config{}, ErrNoAPIKey
	case cfg.Timeout < 0:
		return Config{}, fmt.Errorf("openai: Config.Timeout %v is negative", cfg.Timeout)
	case cfg.MaxRetries < 0:
		return Config{}, fmt.Errorf("openai: Config.MaxRetries %d is negative", cfg.MaxRetries)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL
	}
	// What a listed copy shows is for display only; it never shapes a
	// client, so it must not split the cache key either.
	cfg.listed = unique.Handle[redaction]{}
	return cfg, nil
}

// checkBaseURL reports whether base is an absolute http or https URL. Its
// error never repeats a password that base may carry.
func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", u.Redacted())
	}
	return nil
}

// options returns the openai-go options that build the client for cfg,
// which must be normalized, over httpClient.
//
// openai.NewClient applies the environment first (DefaultClientOptions) and
// these options after it. Every setting that the environment can carry is
// set here, so that the client depends on cfg alone: a Config that leaves a
// setting empty clears what the environment set.
func (cfg Config) options(httpClient *http.Client) []option.RequestOption {
	sec := cfg.secretValues()
	var opts []option.RequestOption
	// First, so that the settings below win over a custom header of the
	// same name.
	for name := range headerLines(os.Getenv("OPENAI_CUSTOM_HEADERS")) {
		opts = append(opts, option.WithHeaderDel(name))
	}
	opts = append(opts,
		option.WithHTTPClient(httpClient),
		option.WithBaseURL(cfg.BaseURL),
		option.WithRequestTimeout(cfg.Timeout),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithWebhookSecret(sec.webhookSecret),
	)
	// Where an endpoint accepts both credentials, openai-go prefers the one
	// set last; the environment sets the admin key last.
	if sec.adminKey == "" {
		opts = append(opts, option.WithAdminAPIKey(""), option.WithAPIKey(cfg.APIKey))
	} else {
		opts = append(opts, option.WithAPIKey(cfg.APIKey), option.WithAdminAPIKey(sec.adminKey))
	}
	opts = append(opts, option.WithOrganization(cfg.Organization), option.WithProject(cfg.Project))
	if cfg.Organization == "" {
		opts = append(opts, option.WithHeaderDel("OpenAI-Organization"))
	}
	if cfg.Project == "" {
		opts = append(opts, option.WithHeaderDel("OpenAI-Project"))
	}
	for name, value := range headerLines(sec.headers) {
		if name != "" {
			opts = append(opts, option.WithHeader(name, value))
		}
	}
	return opts
}

// headerLines yields the headers of a value of OPENAI_CUSTOM_HEADERS, one
// "Name: value" per line, parsed as openai-go parses them: a line without a
// colon is skipped, and names and values are trimmed of spaces.
func headerLines(s string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for line := range strings.SplitSeq(s, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if ok && !yield(strings.TrimSpace(name), strings.TrimSpace(value)) {
				return
			}
		}
	}
}
