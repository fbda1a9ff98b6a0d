package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"golang.org/x/sync/errgroup"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// OpenAIConcurrency is the number of goroutines making chat completions at
// once in [OpenAI].
const OpenAIConcurrency = 32

// OpenAIClient is one way of getting an openai-go client for each call.
type OpenAIClient struct {
	Name  string // short name used in benchmark paths, such as "per-call"
	Label string // name shown in reports

	// start prepares the clients for the server at baseURL. It returns
	// client, which gives the client for one call and is safe for concurrent
	// use, and stop, which releases what start made.
	start func(baseURL string) (client func() (*openai.Client, error), stop func(), err error)
}

// OpenAIClients returns the ways of getting a client that [OpenAI] compares:
// a new SDK client per call, one SDK client with default settings shared by
// all calls, and the adapter's Clients with its tuned transport.
func OpenAIClients() []OpenAIClient {
	return openAIClients
}

var openAIClients = []OpenAIClient{
	{Name: "per-call", Label: "new SDK client per call", start: startPerCall},
	{Name: "shared-default", Label: "one default SDK client", start: startShared},
	{Name: "clients", Label: "reuse Clients", start: startClients},
}

// testAPIKey is the API key every client sends to the test server.
const testAPIKey = "test"

func startPerCall(baseURL string) (func() (*openai.Client, error), func(), error) {
	client := func() (*openai.Client, error) {
		c := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey(testAPIKey))
		return &c, nil
	}
	return client, func() {}, nil
}

func startShared(baseURL string) (func() (*openai.Client, error), func(), error) {
	c := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey(testAPIKey))
	client := func() (*openai.Client, error) { return &c, nil }
	return client, func() {}, nil
}

// startClients gets every call's client from the adapter's Clients, as a
// caller would: Get with the Config for the server, each time.
func startClients(baseURL string) (func() (*openai.Client, error), func(), error) {
	clients, err := reuseopenai.New(&reuseopenai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	cfg := reuseopenai.Config{APIKey: testAPIKey, BaseURL: baseURL}
	client := func() (*openai.Client, error) { return clients.Get(cfg) }
	return client, func() { _ = clients.Close() }, nil
}

// chatParams is the request every call sends.
var chatParams = openai.ChatCompletionNewParams{
	Model:    "gpt-4o-mini",
	Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ping")},
}

// OpenAI measures b.N chat completions made by OpenAIConcurrency goroutines
// against an in-process openaitest server, each call getting its client the
// way client does. The "conns/op" metric is the number of TCP connections the
// server accepted per call. The benchmark fails if the server saw more
// requests than calls (a retry) or a call failed.
func OpenAI(b *testing.B, client OpenAIClient) {
	srv := openaitest.NewServer()
	defer srv.Close()
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
func chat(ctx context.Context, get func() (*openai.Client, error)) error {
	c, err := get()
	if err != nil {
		return err
	}
	resp, err := c.Chat.Completions.New(ctx, chatParams)
	if err != nil {
		return err
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "ping" {
		return fmt.Errorf("bench: unexpected chat completion: %s", resp.RawJSON())
	}
	return nil
}
