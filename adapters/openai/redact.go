package openai

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unique"
)

// fingerprint returns a short digest of a secret that tells it apart from
// other secrets in the logs of one process without revealing it: "hmac:"
// and the first 8 hex digits of its HMAC-SHA256 under a random key drawn
// when the process starts. It returns "" for "".
//
// A plain hash would let anyone who reads the logs test guesses offline:
// 8 hex digits of an unkeyed SHA-256 tell at once whether a weak key, such
// as the "EMPTY" of a self-hosted server, is the one in use, and pick a key
// out of a known few. Under a key of the process, a fingerprint only tells
// the secrets of one process apart: the same secret shows another
// fingerprint in another process, or after a restart.
func fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	m := hmac.New(sha256.New, fingerprintKey())
	m.Write([]byte(secret))
	return "hmac:" + hex.EncodeToString(m.Sum(nil)[:4])
}

// fingerprintKey is the key of fingerprint, drawn on first use.
var fingerprintKey = sync.OnceValue(func() []byte {
	return []byte(rand.Text())
})

// A redaction is what a Config listed by Clients.Configs shows of the
// secrets that it no longer holds.
type redaction struct {
	apiKey, adminKey string // fingerprints; "" when not set
	webhookSecret    bool   // whether one was set
	headerNames      string // the custom headers' names, one per line
}

// redact returns a copy of cfg without its secrets, for Clients.Configs.
// The copy shows what cfg shows: the fingerprints of its keys, whether it
// has a webhook secret, the names of its custom headers, and its BaseURL
// without a user name or password.
func (cfg Config) redact() Config {
	d := cfg.display()
	return Config{
		BaseURL:      d.BaseURL,
		Organization: cfg.Organization,
		Project:      cfg.Project,
		Timeout:      cfg.Timeout,
		MaxRetries:   cfg.MaxRetries,
		listed: unique.Make(redaction{
			apiKey:        d.APIKey,
			adminKey:      d.AdminKey,
			webhookSecret: d.WebhookSecret,
			headerNames:   strings.Join(d.Headers, "\n"),
		}),
	}
}

// display is what a Config shows of itself: no secret, only fingerprints,
// and the base URL without a user name or password.
type display struct {
	APIKey        string   `json:"api_key"`
	BaseURL       string   `json:"base_url"`
	Organization  string   `json:"organization,omitempty"`
	Project       string   `json:"project,omitempty"`
	Timeout       string   `json:"timeout"`
	MaxRetries    int      `json:"max_retries"`
	AdminKey      string   `json:"admin_key,omitempty"`
	WebhookSecret bool     `json:"webhook_secret,omitempty"`
	Headers       []string `json:"custom_headers,omitempty"`
}

func (cfg Config) display() display {
	d := display{
		BaseURL:      redactURL(cfg.BaseURL),
		Organization: cfg.Organization,
		Project:      cfg.Project,
		Timeout:      cfg.Timeout.String(),
		MaxRetries:   cfg.MaxRetries,
	}
	if cfg.listed != (unique.Handle[redaction]{}) {
		r := cfg.listed.Value()
		d.APIKey, d.AdminKey, d.WebhookSecret = r.apiKey, r.adminKey, r.webhookSecret
		if r.headerNames != "" {
			d.Headers = strings.Split(r.headerNames, "\n")
		}
		return d
	}
	sec := cfg.secretValues()
	d.APIKey = fingerprint(cfg.APIKey)
	d.AdminKey = fingerprint(sec.adminKey)
	d.WebhookSecret = sec.webhookSecret != ""
	for name := range headerLines(sec.headers) {
		if name != "" {
			d.Headers = append(d.Headers, name)
		}
	}
	return d
}

// String returns cfg's settings in the style of the %+v verb, with the
// APIKey shown as a fingerprint and no secret.
func (cfg Config) String() string {
	d := cfg.display()
	var b strings.Builder
	fmt.Fprintf(&b, "{APIKey:%s BaseURL:%s Organization:%s Project:%s Timeout:%s MaxRetries:%d",
		d.APIKey, d.BaseURL, d.Organization, d.Project, d.Timeout, d.MaxRetries)
	if d.AdminKey != "" {
		fmt.Fprintf(&b, " AdminKey:%s", d.AdminKey)
	}
	if d.WebhookSecret {
		b.WriteString(" WebhookSecret:set")
	}
	if len(d.Headers) > 0 {
		fmt.Fprintf(&b, " CustomHeaders:%v", d.Headers)
	}
	b.WriteByte('}')
	return b.String()
}

// GoString returns cfg in the style of the %#v verb, with the APIKey shown
// as a fingerprint and no secret.
func (cfg Config) GoString() string {
	d := cfg.display()
	s := fmt.Sprintf("openai.Config{APIKey:%q, BaseURL:%q, Organization:%q, Project:%q, Timeout:%d, MaxRetries:%d",
		d.APIKey, d.BaseURL, d.Organization, d.Project, int64(cfg.Timeout), d.MaxRetries)
	if d.AdminKey != "" {
		s += fmt.Sprintf(", AdminKey:%q", d.AdminKey)
	}
	if d.WebhookSecret {
		s += `, WebhookSecret:"set"`
	}
	if len(d.Headers) > 0 {
		s += fmt.Sprintf(", CustomHeaders:%#v", d.Headers)
	}
	return s + "}"
}

// Format implements [fmt.Formatter], so that no verb or flag prints a
// secret: %#v prints GoString, %q a quoted String, and every other verb
// String. fmt does not call Format for %p of a Config value, nor for a
// Config in an unexported struct field: see the limits in the Config
// documentation.
func (cfg Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, cfg) }

// formatRedacted is the Format of Config and AzureConfig: %#v prints v's
// GoString, %q its quoted String, and every other verb its String, each of
// which leaves the secrets out.
func formatRedacted(f fmt.State, verb rune, v interface {
	String() string
	GoString() string
}) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, v.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(v.String()))
	default:
		fmt.Fprint(f, v.String())
	}
}

// MarshalJSON implements [json.Marshaler]. It encodes cfg's settings as a
// JSON object with the keys api_key (a fingerprint), base_url, organization,
// project, timeout (such as "5m0s"), max_retries and, when set, admin_key (a
// fingerprint), webhook_secret (true) and custom_headers (the names). The
// encoding is for display: it holds no secret, so it cannot be decoded back
// into a usable Config.
func (cfg Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(cfg.display())
}

// LogValue implements [slog.LogValuer]: a Config logs as a group of the
// attributes that MarshalJSON encodes, with no secret.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(cfg.logAttrs()...)
}

// logAttrs returns the attributes that describe cfg in logs.
func (cfg Config) logAttrs() []slog.Attr {
	d := cfg.display()
	attrs := []slog.Attr{
		slog.String("base_url", d.BaseURL),
		slog.Duration("timeout", cfg.Timeout),
		slog.Int("max_retries", d.MaxRetries),
		slog.String("api_key", d.APIKey),
	}
	if d.Organization != "" {
		attrs = append(attrs, slog.String("organization", d.Organization))
	}
	if d.Project != "" {
		attrs = append(attrs, slog.String("project", d.Project))
	}
	if d.AdminKey != "" {
		attrs = append(attrs, slog.String("admin_key", d.AdminKey))
	}
	if d.WebhookSecret {
		attrs = append(attrs, slog.Bool("webhook_secret", true))
	}
	if len(d.Headers) > 0 {
		attrs = append(attrs, slog.Any("custom_headers", d.Headers))
	}
	return attrs
}
