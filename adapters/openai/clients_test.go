package openai_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/keyedcache"
)

func TestGetSameConfigSameClient(t *testing.T) {
	c := newClients(t, nil)
	cfg := reuseopenai.Config{APIKey: "sk-a", Timeout: 30 * time.Second, MaxRetries: 2}
	a, err := c.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("two Gets of one Config returned different clients")
	}
	if s := c.Stats(); s.Hits != 1 || s.Misses != 1 || s.Loads != 1 || s.Entries != 1 {
		t.Errorf("Stats = %+v, want 1 hit, 1 miss, 1 load, 1 entry", s)
	}
}

func TestGetDefaultsShareClient(t *testing.T) {
	c := newClients(t, nil)
	tests := []struct {
		name string
		x, y reuseopenai.Config
	}{
		{"Timeout 0 is DefaultTimeout",
			reuseopenai.Config{APIKey: "k"},
			reuseopenai.Config{APIKey: "k", Timeout: reuseopenai.DefaultTimeout}},
		{"empty BaseURL is the OpenAI API",
			reuseopenai.Config{APIKey: "k"},
			reuseopenai.Config{APIKey: "k", BaseURL: "https://api.openai.com/v1/"}},
		{"trailing slash",
			reuseopenai.Config{APIKey: "k", BaseURL: "http://localhost:8080/v1"},
			reuseopenai.Config{APIKey: "k", BaseURL: "http://localhost:8080/v1/"}},
	}
	for _, tt := range tests {
		x, err := c.Get(tt.x)
		if err != nil {
			t.Fatal(err)
		}
		y, err := c.Get(tt.y)
		if err != nil {
			t.Fatal(err)
		}
		if x != y {
			t.Errorf("%s: got two clients, want one", tt.name)
		}
	}
}

// TestChangedSettingNewClient changes each setting of a Config in turn: each
// change must give a new client that uses the new setting, and going back
// must give the first client again.
func TestChangedSettingNewClient(t *testing.T) {
	srv, other := newServer(t), newServer(t)
	c := newClients(t, nil)
	base := reuseopenai.Config{
		APIKey: "sk-base", BaseURL: srv.URL, Organization: "org-base", Project: "proj-base",
		Timeout: 30 * time.Second, MaxRetries: 1,
	}
	first, err := c.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	header := func(name, want string) func(*testing.T, *openai.Client) {
		return func(t *testing.T, client *openai.Client) {
			chat(t, client, "hi")
			if got := srv.LastHeader().Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	}
	tests := []struct {
		name   string
		change func(*reuseopenai.Config)
		check  func(*testing.T, *openai.Client) // that client uses the change
	}{
		{"Timeout", func(c *reuseopenai.Config) { c.Timeout = 31 * time.Second }, header("X-Stainless-Timeout", "31")},
		{"MaxRetries", func(c *reuseopenai.Config) { c.MaxRetries = 2 }, func(t *testing.T, client *openai.Client) {
			srv.SetStatus(http.StatusServiceUnavailable)
			defer srv.SetStatus(0)
			before := srv.Requests()
			if _, err := client.Chat.Completions.New(context.Background(), params("hi")); err == nil {
				t.Error("chat completion against a 503 succeeded")
			}
			if got := srv.Requests() - before; got != 3 {
				t.Errorf("%d attempts, want 3", got)
			}
		}},
		{"APIKey", func(c *reuseopenai.Config) { c.APIKey = "sk-rotated" }, header("Authorization", "Bearer sk-rotated")},
		{"BaseURL", func(c *reuseopenai.Config) { c.BaseURL = other.URL }, func(t *testing.T, client *openai.Client) {
			chat(t, client, "hi")
			if other.Requests() != 1 {
				t.Errorf("the other server got %d requests, want 1", other.Requests())
			}
		}},
		{"Organization", func(c *reuseopenai.Config) { c.Organization = "org-2" }, header("OpenAI-Organization", "org-2")},
		{"Project", func(c *reuseopenai.Config) { c.Project = "proj-2" }, header("OpenAI-Project", "proj-2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			got, err := c.Get(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got == first {
				t.Fatal("Get returned the first client, want a new one")
			}
			tt.check(t, got)
			if again, _ := c.Get(base); again != first {
				t.Error("Get of the first Config returned a new client, want the first")
			}
		})
	}
	if got, want := c.Len(), 1+len(tests); got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
}

// TestChangedEnvNewClient changes each variable that openai-go reads: each
// change must give FromEnv a new client that uses the new value, and going
// back the first client.
func TestChangedEnvNewClient(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	base := map[string]string{
		"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": srv.URL,
		"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj-env",
		"OPENAI_TIMEOUT": "30", "OPENAI_MAX_RETRIES": "1",
		"OPENAI_ADMIN_KEY": "sk-admin-env", "OPENAI_WEBHOOK_SECRET": "whsec-env",
		"OPENAI_CUSTOM_HEADERS": "X-Team: a",
	}
	setEnv(t, base)
	first, _, err := c.FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	header := func(name, want string) func(*testing.T, *openai.Client) {
		return func(t *testing.T, client *openai.Client) {
			chat(t, client, "hi")
			if got := srv.LastHeader().Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	}
	changes := []struct {
		name, value string
		check       func(*testing.T, *openai.Client) // that the new client uses value
	}{
		{"OPENAI_API_KEY", "sk-env-2", header("Authorization", "Bearer sk-env-2")},
		{"OPENAI_BASE_URL", srv.URL + "/", nil}, // the same base URL: no new client
		{"OPENAI_ORG_ID", "org-2", header("OpenAI-Organization", "org-2")},
		{"OPENAI_PROJECT_ID", "proj-2", header("OpenAI-Project", "proj-2")},
		{"OPENAI_TIMEOUT", "31", header("X-Stainless-Timeout", "31")},
		{"OPENAI_MAX_RETRIES", "2", func(t *testing.T, client *openai.Client) {
			srv.SetStatus(http.StatusServiceUnavailable)
			defer srv.SetStatus(0)
			before := srv.Requests()
			if _, err := client.Chat.Completions.New(context.Background(), params("hi")); err == nil {
				t.Error("chat completion against a 503 succeeded")
			}
			if got := srv.Requests() - before; got != 3 {
				t.Errorf("%d attempts, want 3", got)
			}
		}},
		{"OPENAI_ADMIN_KEY", "sk-admin-2", func(t *testing.T, client *openai.Client) {
			// The server knows no admin endpoint, but sees the credential.
			_, err := client.Admin.Organization.Users.Get(context.Background(), "user-1")
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Errorf("admin request: err = %v, want the server's 404", err)
			}
			if got := srv.LastHeader().Get("Authorization"); got != "Bearer sk-admin-2" {
				t.Errorf("admin request: Authorization = %q, want Bearer sk-admin-2", got)
			}
		}},
		{"OPENAI_WEBHOOK_SECRET", "whsec-2", func(t *testing.T, client *openai.Client) {
			body := []byte(`{"id":"evt_1","type":"response.completed"}`)
			if err := client.Webhooks.VerifySignature(body, signWebhook("whsec-2", body)); err != nil {
				t.Errorf("a webhook signed with the new secret: %v", err)
			}
			if err := client.Webhooks.VerifySignature(body, signWebhook("whsec-env", body)); err == nil {
				t.Error("a webhook signed with the old secret passed")
			}
		}},
		{"OPENAI_CUSTOM_HEADERS", "X-Team: b", header("X-Team", "b")},
	}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			t.Setenv(ch.name, ch.value)
			got, _, err := c.FromEnv("")
			if err != nil {
				t.Fatalf("%s=%q: %v", ch.name, ch.value, err)
			}
			switch {
			case ch.check == nil && got != first:
				t.Errorf("%s=%q: FromEnv returned a new client, want the first", ch.name, ch.value)
			case ch.check != nil && got == first:
				t.Errorf("%s=%q: FromEnv returned the first client, want a new one", ch.name, ch.value)
			case ch.check != nil:
				ch.check(t, got)
			}
			t.Setenv(ch.name, base[ch.name])
			if again, _, _ := c.FromEnv(""); again != first {
				t.Errorf("%s back: FromEnv returned a new client, want the first", ch.name)
			}
		})
	}
}

// signWebhook returns the headers of a webhook delivery of body signed with
// secret, a raw secret without the "whsec_" prefix, as the Standard
// Webhooks scheme that openai-go verifies signs it.
func signWebhook(secret string, body []byte) http.Header {
	id, ts := "msg_1", strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

// TestFromEnvSendsWhatNewClientSends checks that a client from FromEnv sends
// the headers that openai.NewClient, reading the same environment, sends.
func TestFromEnvSendsWhatNewClientSends(t *testing.T) {
	srv := newServer(t)
	setEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": srv.URL,
		"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj-env",
		"OPENAI_CUSTOM_HEADERS": "X-Team: blue\nX-Cost-Center: 42",
	})
	c := newClients(t, nil)
	ours, _, err := c.FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	chat(t, ours, "hi")
	got := srv.LastHeader()

	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	theirs := openai.NewClient(option.WithHTTPClient(&http.Client{Transport: tr}))
	chat(t, &theirs, "hi")
	want := srv.LastHeader()

	for _, h := range []string{"Authorization", "OpenAI-Organization", "OpenAI-Project", "X-Team", "X-Cost-Center"} {
		if got.Get(h) != want.Get(h) || want.Get(h) == "" {
			t.Errorf("%s: FromEnv's client sent %q, openai.NewClient's %q", h, got.Get(h), want.Get(h))
		}
	}
}

// TestGetIgnoresEnvironment checks that a Config built in code gives a
// client that takes nothing from the OPENAI_ variables.
func TestGetIgnoresEnvironment(t *testing.T) {
	srv := newServer(t)
	setEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
		"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj-env",
		"OPENAI_ADMIN_KEY":      "sk-admin-env",
		"OPENAI_CUSTOM_HEADERS": "X-Team: blue\nOpenAI-Organization: org-header",
	})
	c := newClients(t, nil)
	client, err := c.Get(reuseopenai.Config{APIKey: "sk-code", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	chat(t, client, "hi")
	h := srv.LastHeader()
	if got := h.Get("Authorization"); got != "Bearer sk-code" {
		t.Errorf("Authorization = %q, want %q", got, "Bearer sk-code")
	}
	for _, name := range []string{"OpenAI-Organization", "OpenAI-Project", "X-Team"} {
		if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("%s = %q, want no such header", name, v)
		}
	}
}

func TestFromEnvModel(t *testing.T) {
	c := newClients(t, nil)
	setEnv(t, map[string]string{"OPENAI_API_KEY": "sk"})
	tests := []struct{ arg, env, want string }{
		{"", "", reuseopenai.DefaultModel},
		{"", "gpt-env", "gpt-env"},
		{"gpt-arg", "gpt-env", "gpt-arg"},
		{"gpt-arg", "", "gpt-arg"},
	}
	for _, tt := range tests {
		t.Setenv("OPENAI_MODEL", tt.env)
		_, got, err := c.FromEnv(tt.arg)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("FromEnv(%q) with OPENAI_MODEL=%q: model %q, want %q", tt.arg, tt.env, got, tt.want)
		}
	}
}

func TestDefaultModel(t *testing.T) {
	if reuseopenai.DefaultModel != shared.ChatModelGPT5_4Mini {
		t.Errorf("DefaultModel = %q, want openai-go's %q", reuseopenai.DefaultModel, shared.ChatModelGPT5_4Mini)
	}
}

func TestGetClient(t *testing.T) {
	srv := newServer(t)
	setEnv(t, map[string]string{"OPENAI_API_KEY": "sk-getclient", "OPENAI_BASE_URL": srv.URL, "OPENAI_MODEL": "gpt-env"})
	a, model, err := reuseopenai.GetClient("")
	if err != nil {
		t.Fatal(err)
	}
	if model != "gpt-env" {
		t.Errorf("model = %q, want OPENAI_MODEL's gpt-env", model)
	}
	b, model, err := reuseopenai.GetClient("gpt-arg")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || model != "gpt-arg" {
		t.Errorf("second GetClient: same client %v, model %q; want true, gpt-arg", a == b, model)
	}
	chat(t, a, "hello")
	if got := srv.LastHeader().Get("Authorization"); got != "Bearer sk-getclient" {
		t.Errorf("Authorization = %q, want Bearer sk-getclient", got)
	}
	t.Setenv("OPENAI_API_KEY", "")
	if _, _, err := reuseopenai.GetClient(""); !errors.Is(err, reuseopenai.ErrNoAPIKey) {
		t.Errorf("GetClient without OPENAI_API_KEY: err = %v, want ErrNoAPIKey", err)
	}
}

func TestGetErrors(t *testing.T) {
	c := newClients(t, nil)
	tests := []struct {
		name string
		cfg  reuseopenai.Config
		want string
	}{
		{"no key", reuseopenai.Config{}, "openai: missing API key"},
		{"negative timeout", reuseopenai.Config{APIKey: "k", Timeout: -time.Second}, "openai: Config.Timeout -1s is negative"},
		{"negative retries", reuseopenai.Config{APIKey: "k", MaxRetries: -1}, "openai: Config.MaxRetries -1 is negative"},
		{"too many retries", reuseopenai.Config{APIKey: "k", MaxRetries: 11}, "openai: Config.MaxRetries 11 is more than MaxRetriesLimit (10)"},
		{"relative URL", reuseopenai.Config{APIKey: "k", BaseURL: "localhost/v1"}, "openai: Config.BaseURL: not an absolute http or https URL"},
		{"bad URL", reuseopenai.Config{APIKey: "k", BaseURL: "http://[::1"}, "openai: Config.BaseURL: not a valid URL"},
		{"ftp URL", reuseopenai.Config{APIKey: "k", BaseURL: "ftp://host/v1"}, "openai: Config.BaseURL: not an absolute http or https URL"},
		{"query", reuseopenai.Config{APIKey: "k", BaseURL: "https://gw/v1?key=k"}, "openai: Config.BaseURL: has a query, which openai-go would drop; pass query parameters with option.WithQuery"},
		{"port", reuseopenai.Config{APIKey: "k", BaseURL: "https://gw:99999/v1"}, "openai: Config.BaseURL: has a port that is not a number from 1 to 65535"},
		{"key with CRLF", reuseopenai.Config{APIKey: "k\r\n"}, "openai: Config.APIKey: ends with a line break (CR or LF), which cannot go into a header; remove the line ending where the value is stored"},
		{"organization with LF", reuseopenai.Config{APIKey: "k", Organization: "o\nX: 1"}, "openai: Config.Organization: has a control character (such as CR, LF or tab), which cannot go into a header"},
		{"project with CR", reuseopenai.Config{APIKey: "k", Project: "p\r"}, "openai: Config.Project: ends with a line break (CR or LF), which cannot go into a header; remove the line ending where the value is stored"},
	}
	for _, tt := range tests {
		client, err := c.Get(tt.cfg)
		if err == nil || err.Error() != tt.want || client != nil {
			t.Errorf("%s: Get = %p, %v; want nil, %q", tt.name, client, err, tt.want)
		}
	}
	if _, err := c.Get(reuseopenai.Config{}); !errors.Is(err, reuseopenai.ErrNoAPIKey) {
		t.Errorf("no key: err = %v, want ErrNoAPIKey", err)
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len() = %d after failed Gets, want 0", n)
	}
	// A bad Config, BaseURL included, is turned away before the cache.
	if s := c.Stats(); s != (keyedcache.Stats{}) {
		t.Errorf("Stats = %+v after failed Gets, want all zero", s)
	}
}

func TestNewErrors(t *testing.T) {
	for _, opts := range []reuseopenai.Options{{MaxClients: -1}, {TTL: -1}, {MaxIdleConnsPerHost: -1}} {
		if c, err := reuseopenai.New(&opts); err == nil || c != nil {
			t.Errorf("New(%+v) = %v, %v; want an error", opts, c, err)
		}
	}
	c, err := reuseopenai.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestConcurrentGetCreatesOnce(t *testing.T) {
	rec := &recorder{level: slog.LevelInfo}
	c := newClients(t, &reuseopenai.Options{Logger: slog.New(rec)})
	cfg := reuseopenai.Config{APIKey: "sk-shared"}
	const n = 64
	clients := make([]*openai.Client, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if clients[i], err = c.Get(cfg); err != nil {
				t.Errorf("Get: %v", err)
			}
		})
	}
	wg.Wait()
	for i := range clients {
		if clients[i] != clients[0] {
			t.Fatalf("goroutine %d got another client", i)
		}
	}
	if s := c.Stats(); s.Loads != 1 {
		t.Errorf("Stats().Loads = %d, want 1", s.Loads)
	}
	if got := len(rec.records()); got != 1 {
		t.Errorf("%d Info records, want 1", got)
	}
}

func TestMaxClientsEvicts(t *testing.T) {
	rec := &recorder{level: slog.LevelDebug}
	c := newClients(t, &reuseopenai.Options{MaxClients: 2, Logger: slog.New(rec)})
	get := func(key string) *openai.Client {
		t.Helper()
		client, err := c.Get(reuseopenai.Config{APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return client
	}
	a := get("sk-a")
	get("sk-b")
	get("sk-a") // a is now more recently used than b
	get("sk-c") // evicts b
	if n := c.Len(); n != 2 {
		t.Errorf("Len() = %d, want 2", n)
	}
	if s := c.Stats(); s.Evictions != 1 {
		t.Errorf("Stats().Evictions = %d, want 1", s.Evictions)
	}
	if get("sk-a") != a {
		t.Error("the recently used client was evicted")
	}
	var evicted []string
	for _, r := range rec.records() {
		if r.Message == "openai: client removed" {
			evicted = append(evicted, attrs(r)["reason"]+" "+attrs(r)["api_key"])
		}
	}
	if want := "Evicted " + fp(t, "sk-b"); len(evicted) != 1 || evicted[0] != want {
		t.Errorf("removal records %q, want [%q]", evicted, want)
	}
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := reuseopenai.New(&reuseopenai.Options{TTL: time.Minute, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cfg := reuseopenai.Config{APIKey: "sk-ttl"}
		get := func() *openai.Client {
			t.Helper()
			client, err := c.Get(cfg)
			if err != nil || client == nil {
				t.Fatalf("Get = %p, %v; want a client", client, err)
			}
			return client
		}
		a := get()
		time.Sleep(59 * time.Second)
		if b := get(); b != a {
			t.Error("client replaced before its TTL")
		}
		time.Sleep(2 * time.Second)
		if b := get(); b == a {
			t.Error("client kept after its TTL")
		}
		if s := c.Stats(); s.Expirations != 1 {
			t.Errorf("Stats().Expirations = %d, want 1", s.Expirations)
		}
	})
}

// countingTransport counts the requests it carries.
type countingTransport struct {
	n    atomic.Int64
	next *http.Transport
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestOptionsHTTPClient(t *testing.T) {
	srv := newServer(t)
	ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	defer ct.next.CloseIdleConnections()
	c := newClients(t, &reuseopenai.Options{HTTPClient: &http.Client{Transport: ct}})
	for _, key := range []string{"sk-1", "sk-2"} {
		client, err := c.Get(reuseopenai.Config{APIKey: key, BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		chat(t, client, "hi")
	}
	if got := ct.n.Load(); got != 2 {
		t.Errorf("Options.HTTPClient carried %d requests, want 2", got)
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("the two clients opened %d connections over one HTTPClient, want 1", got)
	}
}

func TestSharedTransportAcrossConfigs(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	for _, cfg := range []reuseopenai.Config{
		{APIKey: "sk-1", BaseURL: srv.URL},
		{APIKey: "sk-1", BaseURL: srv.URL, Timeout: time.Minute},
		{APIKey: "sk-1", BaseURL: srv.URL, MaxRetries: 5},
		{APIKey: "sk-2", BaseURL: srv.URL},
	} {
		client, err := c.Get(cfg)
		if err != nil {
			t.Fatal(err)
		}
		chat(t, client, "hi")
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("4 clients, 4 sequential calls: %d connections, want 1", got)
	}
}

func TestCloseThenGet(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	setEnv(t, map[string]string{"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": srv.URL})
	client, _, err := c.FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	chat(t, client, "before")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Get(reuseopenai.Config{APIKey: "sk"}); !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("Get after Close: err = %v, want ErrClosed", err)
	}
	if _, _, err := c.FromEnv(""); !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("FromEnv after Close: err = %v, want ErrClosed", err)
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len() after Close = %d, want 0", n)
	}
	// Close closed the idle connection, so the client, which still works,
	// needs a new one.
	chat(t, client, "after")
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2: Close must close the idle one", got)
	}
}

func TestClear(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	cfg := reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL}
	a, err := c.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chat(t, a, "hi")
	c.Clear()
	if n := c.Len(); n != 0 {
		t.Errorf("Len() after Clear = %d, want 0", n)
	}
	b, err := c.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("Get after Clear returned the old client")
	}
	chat(t, a, "old client still works")
	chat(t, b, "new client")
	if got := srv.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1: Clear keeps the pool", got)
	}
}

func TestConfigs(t *testing.T) {
	c := newClients(t, nil)
	in := []reuseopenai.Config{
		{APIKey: "sk-1", Organization: "org", Timeout: time.Minute, MaxRetries: 4},
		{APIKey: "sk-2", BaseURL: "http://localhost:1/v1/"},
	}
	for _, cfg := range in {
		if _, err := c.Get(cfg); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]reuseopenai.Config{}
	for _, cfg := range c.Configs() {
		got[cfg.BaseURL] = cfg
	}
	want := map[string]string{
		"https://api.openai.com/v1": "{APIKey:" + fp(t, "sk-1") + " BaseURL:https://api.openai.com/v1 Organization:org Project: Timeout:1m0s MaxRetries:4}",
		"http://localhost:1/v1":     "{APIKey:" + fp(t, "sk-2") + " BaseURL:http://localhost:1/v1 Organization: Project: Timeout:5m0s MaxRetries:0}",
	}
	if len(got) != len(want) {
		t.Fatalf("Configs() = %v, want %d configs", got, len(want))
	}
	for url, s := range want {
		cfg, ok := got[url]
		if !ok {
			t.Errorf("Configs() lacks BaseURL %s", url)
			continue
		}
		if cfg.APIKey != "" {
			t.Errorf("Configs() lists a Config with its APIKey")
		}
		if cfg.String() != s {
			t.Errorf("listed Config = %s, want %s", cfg, s)
		}
		if _, err := c.Get(cfg); !errors.Is(err, reuseopenai.ErrNoAPIKey) {
			t.Errorf("Get(listed Config): err = %v, want ErrNoAPIKey", err)
		}
	}
	// What a listed Config shows is no setting: given its key back, it is
	// the Config it lists.
	listed := got["https://api.openai.com/v1"]
	listed.APIKey = "sk-1"
	loads := c.Stats().Loads
	if _, err := c.Get(listed); err != nil || c.Stats().Loads != loads {
		t.Errorf("Get(listed Config with its key) = %v, %d new loads; want the kept client", err, c.Stats().Loads-loads)
	}
}

// TestConfigsKeepSecretsApart checks that Configs lists clients that differ
// only in a secret as distinct Configs, which show the secret redacted.
func TestConfigsKeepSecretsApart(t *testing.T) {
	c := newClients(t, nil)
	const admin1, admin2, webhook, header = "sk-admin-list-1", "sk-admin-list-2", "whsec-list-1", "header-value-list"
	prefix := "{APIKey:" + fp(t, "sk-listing-7c41d2") + " BaseURL:http://localhost:1/v1 Organization: Project: Timeout:5m0s MaxRetries:3"
	tests := []struct {
		env  map[string]string
		want string // the listed Config's String
	}{
		{nil, prefix + "}"},
		{map[string]string{"OPENAI_ADMIN_KEY": admin1}, prefix + " AdminKey:" + fp(t, admin1) + "}"},
		{map[string]string{"OPENAI_ADMIN_KEY": admin2}, prefix + " AdminKey:" + fp(t, admin2) + "}"},
		{map[string]string{"OPENAI_WEBHOOK_SECRET": webhook}, prefix + " WebhookSecret:set}"},
		{map[string]string{"OPENAI_CUSTOM_HEADERS": "X-Team: " + header + "\nX-Cost: 42"}, prefix + " CustomHeaders:[X-Team X-Cost]}"},
	}
	for _, tt := range tests {
		env := map[string]string{"OPENAI_API_KEY": "sk-listing-7c41d2", "OPENAI_BASE_URL": "http://localhost:1/v1"}
		for k, v := range tt.env {
			env[k] = v
		}
		setEnv(t, env)
		if _, _, err := c.FromEnv(""); err != nil {
			t.Fatal(err)
		}
	}
	listed := c.Configs()
	distinct := map[reuseopenai.Config]bool{}
	shown := map[string]bool{}
	for _, cfg := range listed {
		distinct[cfg] = true
		shown[cfg.String()] = true
	}
	if len(listed) != len(tests) || len(distinct) != len(tests) {
		t.Errorf("Configs() lists %d Configs, %d distinct; want %d distinct: %v", len(listed), len(distinct), len(tests), listed)
	}
	for _, tt := range tests {
		if !shown[tt.want] {
			t.Errorf("Configs() lacks %s; it lists %v", tt.want, listed)
		}
	}
	b, err := json.Marshal(listed)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"sk-listing-7c41d2", admin1, admin2, webhook, header}
	checkNoSecret(t, "fmt of Configs()", fmt.Sprintf("%v %+v %#v", listed, listed, listed), secrets)
	checkNoSecret(t, "JSON of Configs()", string(b), secrets,
		`"admin_key":"`+fp(t, admin1)+`"`, `"webhook_secret":true`, `"custom_headers":["X-Team","X-Cost"]`)
}

// fp returns the fingerprint that a Config with APIKey key shows.
func fp(t *testing.T, key string) string {
	t.Helper()
	s := reuseopenai.Config{APIKey: key}.LogValue().Group()
	for _, a := range s {
		if a.Key == "api_key" {
			return a.Value.String()
		}
	}
	t.Fatal("no api_key attribute")
	return ""
}

func TestConcurrentMixed(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, &reuseopenai.Options{MaxClients: 3})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				cfg := reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL, MaxRetries: (g + i) % 5}
				client, err := c.Get(cfg)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if _, err := client.Chat.Completions.New(context.Background(), params("x")); err != nil {
					t.Errorf("chat: %v", err)
					return
				}
				if i%7 == 0 {
					c.Clear()
				}
				_ = c.Configs()
				_ = c.Stats()
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 3 {
		t.Errorf("Len() = %d, want at most MaxClients 3", n)
	}
}

// TestGetIgnoresUnparsableEnvBaseURL checks that a client from Get works
// while OPENAI_BASE_URL does not parse, which would make every request of
// a client from openai.NewClient fail: no client reads the environment.
func TestGetIgnoresUnparsableEnvBaseURL(t *testing.T) {
	srv := newServer(t)
	setEnv(t, map[string]string{"OPENAI_BASE_URL": "http://[::1", "OPENAI_CUSTOM_HEADERS": "X-Env: 1"})
	c := newClients(t, nil)
	client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	chat(t, client, "hi")
	if got := srv.LastHeader().Get("X-Env"); got != "" {
		t.Errorf("X-Env = %q: the client took a header from the environment", got)
	}

	// The cause: openai.NewClient applies the environment, and fails before
	// sending.
	theirs := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk"), option.WithMaxRetries(0))
	_, err = theirs.Chat.Completions.New(context.Background(), params("hi"))
	if err == nil || !strings.Contains(err.Error(), "WithBaseURL failed to parse url") {
		t.Errorf("openai.NewClient with a bad OPENAI_BASE_URL: err = %v, want a parse error", err)
	}
}

func TestDefault(t *testing.T) {
	srv := newServer(t)
	setEnv(t, map[string]string{"OPENAI_API_KEY": "sk-default-" + t.Name(), "OPENAI_BASE_URL": srv.URL})
	d, err := reuseopenai.Default()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := reuseopenai.Default(); again != d {
		t.Error("two calls of Default returned different Clients")
	}
	before := d.Stats()
	client, _, err := reuseopenai.GetClient("")
	if err != nil {
		t.Fatal(err)
	}
	same, err := d.Get(reuseopenai.Config{APIKey: "sk-default-" + t.Name(), BaseURL: srv.URL, MaxRetries: reuseopenai.DefaultMaxRetries})
	if err != nil {
		t.Fatal(err)
	}
	if same != client {
		t.Error("Default().Get of GetClient's Config returned another client")
	}
	if after := d.Stats(); after.Loads != before.Loads+1 || after.Hits != before.Hits+1 {
		t.Errorf("Stats went from %+v to %+v, want one more load and one more hit", before, after)
	}

	// Nobody may close the Clients that the whole process shares.
	for range 2 {
		if err := d.Close(); !errors.Is(err, reuseopenai.ErrCloseDefault) {
			t.Errorf("Default().Close() = %v, want ErrCloseDefault", err)
		}
	}
	again, _, err := reuseopenai.GetClient("")
	if err != nil || again != client {
		t.Fatalf("GetClient after Default().Close() = %p, %v; want the same client", again, err)
	}
	chat(t, again, "still open")
}
