package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"golang.org/x/sync/errgroup"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// OpenAIConcurrency is the number of goroutines making chat completions at
// once in [OpenAI].
const OpenAIConcurrency = 32

// openAITimeout is the per-attempt timeout of every client: the SDK's
// option.WithRequestTimeout, and Config.Timeout for Clients. No call comes
// near it; it is set so that every client has the same one, and sends the
// same X-Stainless-Timeout header.
const openAITimeout = 30 * time.Second

// openAIMaxRetries is the number of retries of every client: none. A retry
// would be one more request to the server, which fails the benchmark.
const openAIMaxRetries = 0

// testAPIKey is the API key every client sends to the test server.
const testAPIKey = "test"

// OpenAIClient is one way of getting an openai-go client for each call.
type OpenAIClient struct {
	Name  string // short name used in benchmark paths, such as "per-call"
	Label string // name shown in reports

	// start prepares the clients for the server at baseURL. It returns get,
	// which gives the client for one call and is safe for concurrent use,
	// and stop, which releases what start made.
	start func(baseURL string) (get getClient, stop func(), err error)
}

// getClient returns the client for one call and release, which the caller
// calls once the call is done.
type getClient func() (c *openai.Client, release func(), err error)

// noRelease is the release of a client that outlives the call.
func noRelease() {}

// OpenAIClients returns the ways of getting a client that [OpenAI] compares:
// a new SDK client per call, one SDK client with default settings shared by
// all calls, and the adapter's Clients with its tuned transport.
//
// The three differ only in how a call gets its client and, with it, the
// transport that the call goes through. Everything else is held equal: the
// request; the base URL and API key, with no organization, project, admin
// key or extra headers, whatever the OPENAI_* variables of the environment
// say (see sdkOptions); a per-attempt timeout of 30 s; and no retries. So
// every request carries the same headers.
//
// The transports: each SDK client's is a clone of http.DefaultTransport, as
// openai.NewClient makes for every client by default, which keeps 2 idle
// connections per host. (openai.NewClient's own also sets a
// ResponseHeaderTimeout of 10 minutes; these leave it unset, as Clients'
// transport does, since the per-attempt timeout bounds the wait anyway.)
// The per-call client's transport is dropped after its call, its connection
// closed (CloseIdleConnections), as a caller that makes a client per call
// must do to not keep a connection open per call until the server closes
// it. Clients shares its tuned transport, which keeps 100 idle connections
// per host, among its clients.
func OpenAIClients() []OpenAIClient {
	return openAIClients
}

var openAIClients = []OpenAIClient{
	{Name: "per-call", Label: "new SDK client per call", start: startPerCall},
	{Name: "shared-default", Label: "one default SDK client", start: startShared},
	{Name: "clients", Label: "reuse Clients", start: startClients},
}

// startPerCall makes a new SDK client, with a transport of its own, for
// every call, and closes its connection after the call.
func startPerCall(baseURL string) (getClient, func(), error) {
	if _, err := sdkTransport(); err != nil {
		return nil, nil, err
	}
	opts := sdkOptions(baseURL)
	get := func() (*openai.Client, func(), error) {
		t, err := sdkTransport()
		if err != nil {
			return nil, nil, err
		}
		hc := &http.Client{Transport: t}
		c := openai.NewClient(append(opts[:len(opts):len(opts)], option.WithHTTPClient(hc))...)
		return &c, hc.CloseIdleConnections, nil
	}
	return get, func() {}, nil
}

// startShared makes one SDK client for all calls.
func startShared(baseURL string) (getClient, func(), error) {
	t, err := sdkTransport()
	if err != nil {
		return nil, nil, err
	}
	hc := &http.Client{Transport: t}
	c := openai.NewClient(append(sdkOptions(baseURL), option.WithHTTPClient(hc))...)
	get := func() (*openai.Client, func(), error) { return &c, noRelease, nil }
	return get, hc.CloseIdleConnections, nil
}

// startClients gets every call's client from the adapter's Clients, as a
// caller would: Get with the Config for the server, each time.
func startClients(baseURL string) (getClient, func(), error) {
	clients, err := reuseopenai.New(&reuseopenai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	cfg := reuseopenai.Config{
		APIKey:     testAPIKey,
		BaseURL:    baseURL,
		Timeout:    openAITimeout,
		MaxRetries: openAIMaxRetries,
	}
	get := func() (*openai.Client, func(), error) {
		c, err := clients.Get(cfg)
		return c, noRelease, err
	}
	return get, func() { _ = clients.Close() }, nil
}

// sdkTransport returns a clone of http.DefaultTransport, as openai.NewClient
// makes for every client by default.
func sdkTransport() (*http.Transport, error) {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("bench: http.DefaultTransport is not an *http.Transport")
	}
	return t.Clone(), nil
}

// sdkOptions returns the options, but for the HTTP client, of the clients
// that the SDK variants make with openai.NewClient.
//
// openai.NewClient first applies what the OPENAI_* variables of the
// environment say (DefaultClientOptions), and the SDK has no public option
// to skip that. So these options set or clear every setting that those
// variables carry, after them: base URL, API key, admin key, organization,
// project and webhook secret; and they delete the headers that
// OPENAI_CUSTOM_HEADERS adds. They are the options that Clients.Get gives a
// Config with only APIKey, BaseURL, Timeout and MaxRetries set, so that all
// three variants send the same requests whatever the environment. One
// variable still acts: an OPENAI_BASE_URL that does not parse as a URL makes
// the SDK fail every request (Clients.Get then fails too), which fails the
// benchmark rather than skewing it.
func sdkOptions(baseURL string) []option.RequestOption {
	var opts []option.RequestOption
	// First, so that the settings below win over a custom header of the
	// same name.
	for line := range strings.SplitSeq(os.Getenv("OPENAI_CUSTOM_HEADERS"), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) != "" {
			opts = append(opts, option.WithHeaderDel(strings.TrimSpace(name)))
		}
	}
	return append(opts,
		option.WithBaseURL(baseURL),
		option.WithRequestTimeout(openAITimeout),
		option.WithMaxRetries(openAIMaxRetries),
		option.WithWebhookSecret(""),
		// The SDK prefers the credential set last; clear the admin key first.
		option.WithAdminAPIKey(""),
		option.WithAPIKey(testAPIKey),
		option.WithOrganization(""),
		option.WithHeaderDel("OpenAI-Organization"),
		option.WithProject(""),
		option.WithHeaderDel("OpenAI-Project"),
	)
}

// chatParams is the request every call sends.
var chatParams = openai.ChatCompletionNewParams{
	Model:    "gpt-4o-mini",
	Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ping")},
}

// OpenAI measures b.N chat completions made by OpenAIConcurrency goroutines
// against an in-process openaitest server, each call getting its client the
// way client does; [OpenAIClients] says what the ways have in common. The
// "conns/op" metric is the number of TCP connections the server accepted per
// call. The benchmark fails if the server saw more requests than calls (a
// retry) or a call failed.
func OpenAI(b *testing.B, client OpenAIClient) {
	openAI(b, client, 0)
}

// openAI is OpenAI against a server that holds every response back for
// delay.
func openAI(b *testing.B, client OpenAIClient, delay time.Duration) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetDelay(delay)
	get, stop, err := client.start(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()

	ctx := context.Background()
	conns, requests := srv.Connections(), srv.Requests()
	b.ReportAllocs()
	b.ResetTimer()
	var (
		g    errgroup.Group
		next atomic.Int64
	)
	for range OpenAIConcurrency {
		g.Go(func() error {
			for next.Add(1) <= int64(b.N) {
				if err := chat(ctx, get); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = g.Wait()
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if got := srv.Requests() - requests; got != int64(b.N) {
		b.Fatalf("server saw %d requests for %d calls", got, b.N)
	}
	b.ReportMetric(float64(srv.Connections()-conns)/float64(b.N), "conns/op")
}

// chat makes one chat completion with the client get returns.
func chat(ctx context.Context, get getClient) error {
	c, release, err := get()
	if err != nil {
		return err
	}
	defer release()
	resp, err := c.Chat.Completions.New(ctx, chatParams)
	if err != nil {
		return err
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "ping" {
		return fmt.Errorf("bench: unexpected chat completion: %s", resp.RawJSON())
	}
	return nil
}
