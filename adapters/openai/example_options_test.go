package openai_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// Options.RequestOptions reach every client: here a middleware that counts
// requests and sees their status, and a fixed header. A failed attempt is
// retried, and ClientStats counts the attempts of each client.
func ExampleOptions_requestOptions() {
	srv := openaitest.NewServer()
	defer srv.Close()

	var calls atomic.Int64
	count := func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		calls.Add(1)
		res, err := next(req)
		if err == nil {
			fmt.Println("middleware:", req.Method, req.URL.Path, res.StatusCode)
		}
		return res, err
	}
	clients, err := reuseopenai.New(&reuseopenai.Options{
		Logger: slog.New(slog.DiscardHandler),
		RequestOptions: []option.RequestOption{
			option.WithMiddleware(count),
			option.WithHeader("X-Team", "search"),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()

	client, err := clients.Get(reuseopenai.Config{APIKey: "sk-example", BaseURL: srv.URL, MaxRetries: 1})
	if err != nil {
		log.Fatal(err)
	}
	hello := openai.ChatCompletionNewParams{
		Model:    reuseopenai.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	}
	resp, err := client.Chat.Completions.New(context.Background(), hello)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content, srv.LastHeader().Get("X-Team"))

	srv.SetStatus(http.StatusServiceUnavailable) // fails every attempt
	_, err = client.Chat.Completions.New(context.Background(), hello)
	fmt.Println(err != nil, calls.Load(), "attempts in all")
	for _, s := range clients.ClientStats() {
		fmt.Printf("requests %d, retries %d, errors %d\n", s.Requests, s.Retries, s.Errors)
	}
	// Output:
	// middleware: POST /v1/chat/completions 200
	// Hello! search
	// middleware: POST /v1/chat/completions 503
	// middleware: POST /v1/chat/completions 503
	// true 3 attempts in all
	// requests 3, retries 1, errors 2
}

// NewAzure makes clients for Azure OpenAI, here against openaitest's Azure
// route, which plain HTTP to a loopback address allows. The model of a
// request names the deployment.
func ExampleNewAzure() {
	srv := openaitest.NewServer() // stands in for an Azure OpenAI resource
	defer srv.Close()
	srv.SetAPIKey("az-example")

	clients, err := reuseopenai.NewAzure(&reuseopenai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()

	cfg := reuseopenai.AzureConfig{Endpoint: srv.Endpoint, APIVersion: "2024-10-21", APIKey: "az-example"}
	client, err := clients.Get(cfg)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "my-deployment",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello, Azure!")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content, "from", resp.Model)
	fmt.Println(srv.LastRequestURI())
	fmt.Println(srv.LastHeader().Get("Api-Key") == "az-example")

	same, _ := clients.Get(cfg)
	fmt.Println(same == client, clients.Len())
	// Output:
	// Hello, Azure! from my-deployment
	// /openai/deployments/my-deployment/chat/completions?api-version=2024-10-21
	// true
	// true 1
}
