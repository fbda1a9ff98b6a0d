package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/keyedcache"
)

// The tests of this file each check a defect that a review found, and that
// the test caught before its fix.

// verbs are the fmt verbs and flags that a value may be printed with.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%o", "%e", "%g", "%c", "%U", "%b", "%10.3v", "%-8s", "%T"}

// TestClientsFormat checks that a Clients, printed with any verb, encoded
// or logged, shows its counts and nothing of its Configs, and that printing
// it while requests are in flight is no data race (run with -race).
// Defect 1: a verb such as %s walked into the cache and printed every key.
func TestClientsFormat(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	cfg := reuseopenai.Config{APIKey: canaryKey, BaseURL: "http://u:" + canaryPassword + "@" + strings.TrimPrefix(srv.URL, "http://")}
	client, err := c.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chat(t, client, "hi")
	d, err := reuseopenai.Default()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(cfg); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cfg := cfg
				cfg.MaxRetries = i % 4
				if _, err := c.Get(cfg); err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if i%3 == 0 {
					c.Clear()
				}
			}
		})
	}
	for _, verb := range verbs {
		for _, arg := range []any{c, *c, d, []*reuseopenai.Clients{c}, struct{ C *reuseopenai.Clients }{c}, struct{ C reuseopenai.Clients }{*c}} {
			s := fmt.Sprintf(verb, arg)
			checkNoCanary(t, fmt.Sprintf("Sprintf(%q, %T)", verb, arg), s)
			if verb != "%T" && !strings.Contains(s, "clients") && !strings.Contains(s, "0x") {
				t.Errorf("Sprintf(%q, %T) = %s, want the summary", verb, arg, s)
			}
		}
	}
	checkNoCanary(t, "Sprint(Default())", fmt.Sprint(reuseopenai.Default()), "openai.Clients{clients:")
	// An unexported field is beyond fmt's reach of methods: there a Clients
	// shows an address, never what is behind it.
	checkNoCanary(t, "unexported field", fmt.Sprintf("%+v", struct{ c reuseopenai.Clients }{*c}), "0x")
	close(stop)
	wg.Wait()

	c.Clear()
	if _, err := c.Get(cfg); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(c), fmt.Sprintf("openai.Clients{clients:1 hits:%d misses:%d}", c.Stats().Hits, c.Stats().Misses); got != want {
		t.Errorf("Sprint = %s, want %s", got, want)
	}
	if got := fmt.Sprintf("%#v", c); !strings.HasPrefix(got, "&openai.Clients{clients:1, hits:") {
		t.Errorf("%%#v = %s", got)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["clients"] != 1.0 || len(m) != 3 {
		t.Errorf("JSON = %s, %v; want clients 1, hits and misses", b, err)
	}
	logger, buf := logBuffers()
	logger.Info("cache", "clients", c)
	checkNoCanary(t, "slog", buf.String(), "clients.clients=1", `"clients":{"clients":1`)
}

// TestTimedOutAttemptRetried checks that an attempt that times out is
// retried, MaxRetries times, and that the call then fails with the
// deadline. Defect 2: openai-go's per-attempt timeout ended the call at
// the first timeout.
func TestTimedOutAttemptRetried(t *testing.T) {
	srv := newServer(t)
	srv.SetDelay(10 * time.Second)
	// A short backoff keeps the test short; the next test checks the
	// default one.
	c := newClients(t, &reuseopenai.Options{RequestOptions: []option.RequestOption{option.WithMaxRetryDelay(time.Millisecond)}})
	client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL, Timeout: 100 * time.Millisecond, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = client.Chat.Completions.New(context.Background(), params("hi"))
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if got := srv.Requests(); got != 3 {
		t.Errorf("%d attempts, want 3: 1 + 2 retries of timed-out attempts", got)
	}
	// The upper bound is far above 300 ms, for a loaded machine, and far
	// below one attempt that the timeout did not end (10 s).
	if elapsed < 300*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("3 attempts of 100 ms took %v, want 300 ms to 5 s", elapsed)
	}
	stats := c.ClientStats()
	if len(stats) != 1 || stats[0].RequestStats != (reuseopenai.RequestStats{Requests: 3, Retries: 2, Errors: 3}) {
		t.Errorf("ClientStats = %+v, want 3 requests, 2 retries, 3 errors", stats)
	}
}

// TestTimedOutAttemptBacksOff checks that a retry after a timeout waits
// openai-go's backoff (0.5 s less up to a quarter of jitter before the
// first retry), and that a call whose own context ends is not retried.
func TestTimedOutAttemptBacksOff(t *testing.T) {
	srv := newServer(t)
	srv.SetDelay(2 * time.Second)
	c := newClients(t, nil)
	client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL, Timeout: 50 * time.Millisecond, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := client.Chat.Completions.New(context.Background(), params("hi")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed < 2*50*time.Millisecond+375*time.Millisecond {
		t.Errorf("2 attempts of 50 ms and a backoff took %v, want at least 475 ms", elapsed)
	}
	if got := srv.Requests(); got != 2 {
		t.Errorf("%d attempts, want 2", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := client.Chat.Completions.New(ctx, params("hi")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if got := srv.Requests(); got != 3 {
		t.Errorf("%d attempts in all, want 3: the caller's deadline is not retried", got)
	}
}

// TestNewClientHasEveryService checks that the clients of a Clients, which
// it builds without openai.NewClient, have every service that
// openai.NewClient sets, so that an upgrade of openai-go that adds one
// cannot leave it unset.
func TestNewClientHasEveryService(t *testing.T) {
	c := newClients(t, nil)
	ours, err := c.Get(reuseopenai.Config{APIKey: "sk"})
	if err != nil {
		t.Fatal(err)
	}
	theirs := openai.NewClient()
	vo, vt := reflect.ValueOf(*ours), reflect.ValueOf(theirs)
	for i := range vt.NumField() {
		if vt.Field(i).IsZero() != vo.Field(i).IsZero() {
			t.Errorf("openai.Client.%s: set by openai.NewClient %v, by Clients %v", vt.Type().Field(i).Name, !vt.Field(i).IsZero(), !vo.Field(i).IsZero())
		}
	}
}

// TestEnvChangesWhileBuilding creates clients while another goroutine
// changes OPENAI_BASE_URL and OPENAI_CUSTOM_HEADERS: every client must send
// what its Config says, and work. Defect 4: openai.NewClient read the
// environment a second time, and a client could send a header its Config
// did not have, or fail every call.
func TestEnvChangesWhileBuilding(t *testing.T) {
	setEnv(t, nil) // restores the variables when the test ends
	var captured atomic.Int64
	bad := atomic.Int64{}
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		captured.Add(1)
		if r.Header.Get("X-Env") != "" {
			bad.Add(1)
		}
		return jsonResponse(r, `{"object":"list","data":[]}`), nil
	})
	c := newClients(t, &reuseopenai.Options{HTTPClient: &http.Client{Transport: rt}})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				os.Setenv("OPENAI_BASE_URL", "http://[::1")
				os.Setenv("OPENAI_CUSTOM_HEADERS", "X-Env: 1")
			} else {
				os.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
				os.Unsetenv("OPENAI_CUSTOM_HEADERS")
			}
		}
	})
	cfg := reuseopenai.Config{APIKey: "sk", BaseURL: "http://127.0.0.1:2/v1"}
	for range 300 {
		c.Clear()
		client, err := c.Get(cfg)
		if err != nil {
			t.Errorf("Get: %v", err)
			break
		}
		if _, err := client.Models.List(context.Background()); err != nil {
			t.Errorf("a client created while the environment changed fails: %v", err)
			break
		}
	}
	close(stop)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d requests sent X-Env, a header of the environment, not of their Config", n, captured.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// jsonResponse returns a 200 response to r with body.
func jsonResponse(r *http.Request, body string) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    r,
	}
}

// TestConfigsHideURLCredentials checks that Configs lists a BaseURL without
// its user name or password, and that neither is sent nor logged.
// Defect 7: Configs returned the URL's password; defect 6: the log showed
// a user name, which may be a token.
func TestConfigsHideURLCredentials(t *testing.T) {
	srv := newServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	logger, buf := logBuffers()
	c := newClients(t, &reuseopenai.Options{Logger: logger})
	for _, base := range []string{"http://user:" + canaryPassword + "@" + host, "http://" + canaryKey + "@" + host} {
		client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		chat(t, client, "hi")
		if got := srv.LastHeader().Get("Authorization"); got != "Bearer sk" {
			t.Errorf("Authorization = %q, want the API key", got)
		}
	}
	for _, cfg := range c.Configs() {
		if cfg.BaseURL != "http://xxxxx@"+host {
			t.Errorf("Configs() lists BaseURL %q, want http://xxxxx@%s", cfg.BaseURL, host)
		}
	}
	checkNoCanary(t, "Configs()", fmt.Sprintf("%v %+v %#v", c.Configs(), c.Configs(), c.Configs()))
	checkNoCanary(t, "log", buf.String(), "base_url=http://xxxxx@"+host)
	// Nor does an error of a call show them.
	srv.SetStatus(http.StatusBadRequest)
	for _, cfg := range []reuseopenai.Config{{APIKey: "sk", BaseURL: "http://user:" + canaryPassword + "@" + host}} {
		client, _ := c.Get(cfg)
		_, err := client.Chat.Completions.New(context.Background(), params("hi"))
		if err == nil {
			t.Fatal("no error from a 400")
		}
		checkNoCanary(t, "error of a call", err.Error())
	}
}

// TestWrappedDefaultTransport checks that the clients of a Clients send
// through http.DefaultTransport when a program wrapped it, as the usual
// OpenTelemetry set-up does. Defect 8: the wrapper was dropped.
func TestWrappedDefaultTransport(t *testing.T) {
	srv := newServer(t)
	ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	defer ct.next.CloseIdleConnections()
	old := http.DefaultTransport
	http.DefaultTransport = ct
	c, err := reuseopenai.New(&reuseopenai.Options{Logger: quiet})
	http.DefaultTransport = old
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	chat(t, client, "hi")
	if got := ct.n.Load(); got != 1 {
		t.Errorf("the wrapped http.DefaultTransport carried %d requests, want 1", got)
	}
}

// TestWrapTransport checks that Options.WrapTransport wraps the tuned
// transport: the wrapper sees every request, and the clients share the
// pool, which Close closes.
func TestWrapTransport(t *testing.T) {
	srv := newServer(t)
	var wrapped atomic.Int64
	var inner http.RoundTripper
	c := newClients(t, &reuseopenai.Options{WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		inner = rt
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			wrapped.Add(1)
			return rt.RoundTrip(r)
		})
	}})
	if tr, ok := inner.(*http.Transport); !ok || tr.MaxIdleConnsPerHost != 100 {
		t.Fatalf("WrapTransport got %T, want the tuned *http.Transport", inner)
	}
	var first *openai.Client
	for _, key := range []string{"sk-1", "sk-2", "sk-1"} {
		client, err := c.Get(reuseopenai.Config{APIKey: key, BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		first = client
		chat(t, client, "hi")
	}
	if got := wrapped.Load(); got != 3 {
		t.Errorf("the wrapper saw %d requests, want 3", got)
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("two clients, three sequential calls: %d connections, want 1 pool", got)
	}
	c.Close()
	chat(t, first, "after Close")
	if got := srv.Connections(); got != 2 {
		t.Errorf("%d connections, want 2: Close closes the pool's idle connection", got)
	}
	if _, err := reuseopenai.New(&reuseopenai.Options{WrapTransport: func(http.RoundTripper) http.RoundTripper { return nil }}); err == nil {
		t.Error("New with a WrapTransport that returns nil: no error")
	}
}

// TestClosedBeforeInvalid checks that Get and FromEnv return ErrClosed after
// Close, whatever their argument, and that ErrClosed matches
// keyedcache.ErrClosed.
func TestClosedBeforeInvalid(t *testing.T) {
	setEnv(t, map[string]string{"OPENAI_TIMEOUT": "soon"})
	c := newClients(t, nil)
	c.Close()
	if _, err := c.Get(reuseopenai.Config{}); !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("Get(Config{}) after Close: err = %v, want ErrClosed", err)
	}
	if _, err := c.Get(reuseopenai.Config{APIKey: "k", BaseURL: "ftp://x"}); !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("Get of a bad BaseURL after Close: err = %v, want ErrClosed", err)
	}
	_, _, err := c.FromEnv("")
	if !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("FromEnv of a bad environment after Close: err = %v, want ErrClosed", err)
	}
	if !errors.Is(err, keyedcache.ErrClosed) || !errors.Is(reuseopenai.ErrClosed, keyedcache.ErrClosed) {
		t.Errorf("errors.Is(%v, keyedcache.ErrClosed) = false, want true", err)
	}
	if errors.Is(reuseopenai.ErrNoAPIKey, keyedcache.ErrClosed) {
		t.Error("ErrNoAPIKey matches keyedcache.ErrClosed")
	}
}

// TestRequestOptions checks that Options.RequestOptions reach every client,
// and that those that set what a Config sets are overridden by it: a
// client sends what its log records show.
func TestRequestOptions(t *testing.T) {
	srv := newServer(t)
	var seen atomic.Int64
	rec := &recorder{level: slog.LevelInfo}
	c := newClients(t, &reuseopenai.Options{Logger: slog.New(rec), RequestOptions: []option.RequestOption{
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			seen.Add(1)
			return next(r)
		}),
		option.WithHeader("X-Fixed", "yes"),
		option.WithAPIKey("sk-option"),
		option.WithHeader("Authorization", "Bearer sk-header"),
		option.WithHeader("OpenAI-Organization", "org-option"),
		option.WithOrganization("org-option"),
		option.WithBaseURL("http://127.0.0.1:1/v1"),
		option.WithMaxRetries(5),
	}})
	for _, key := range []string{"sk-1", "sk-2"} {
		client, err := c.Get(reuseopenai.Config{APIKey: key, BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		chat(t, client, "hi")
		h := srv.LastHeader()
		if got := h.Get("Authorization"); got != "Bearer "+key {
			t.Errorf("Authorization = %q, want the Config's key", got)
		}
		if v, ok := h["Openai-Organization"]; ok {
			t.Errorf("OpenAI-Organization = %q, want none, as the Config has none", v)
		}
		if got := h.Get("X-Fixed"); got != "yes" {
			t.Errorf("X-Fixed = %q, want the option's yes", got)
		}
	}
	if got := seen.Load(); got != 2 {
		t.Errorf("the middleware saw %d requests, want 2", got)
	}
	srv.SetStatus(http.StatusServiceUnavailable)
	client, _ := c.Get(reuseopenai.Config{APIKey: "sk-1", BaseURL: srv.URL, MaxRetries: 1})
	before := srv.Requests()
	if _, err := client.Chat.Completions.New(context.Background(), params("hi")); err == nil {
		t.Error("no error from a 503")
	}
	if got := srv.Requests() - before; got != 2 {
		t.Errorf("%d attempts, want 2: the Config's MaxRetries 1 over the option's 5", got)
	}
	for _, r := range rec.records() {
		if a := attrs(r); a["organization"] != "" || !strings.HasPrefix(a["api_key"], "hmac:") {
			t.Errorf("log record %v", a)
		}
	}
	if _, err := reuseopenai.New(&reuseopenai.Options{RequestOptions: []option.RequestOption{nil}}); err == nil {
		t.Error("New with a nil request option: no error")
	}
}
