package openaitest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

func hello() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT5_4Mini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	}
}

// A test points its client at the server with option.WithBaseURL.
func Example() {
	srv := openaitest.NewServer()
	defer srv.Close()

	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"))
	resp, err := client.Chat.Completions.New(context.Background(), hello())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)
	fmt.Println(srv.Requests(), "request,", srv.Connections(), "connection")
	fmt.Println(srv.LastHeader().Get("Authorization"))
	// Output:
	// Hello!
	// 1 request, 1 connection
	// Bearer sk-test
}

// Streamed completions arrive as server-sent events, one word per chunk.
func Example_streaming() {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetReply("Hi there, friend.")

	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"))
	stream := client.Chat.Completions.NewStreaming(context.Background(), hello())
	for stream.Next() {
		if chunk := stream.Current(); len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			fmt.Printf("%q\n", chunk.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// "Hi "
	// "there, "
	// "friend."
}

// SetStatus makes every request fail; each retry is one more request.
func ExampleServer_SetStatus() {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetStatus(http.StatusInternalServerError)

	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"), option.WithMaxRetries(2))
	_, err := client.Chat.Completions.New(context.Background(), hello())
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		fmt.Println("status", apiErr.StatusCode)
	}
	fmt.Println(srv.Requests(), "attempts")
	// Output:
	// status 500
	// 3 attempts
}

// SetDelay holds responses back, to exercise timeouts.
func ExampleServer_SetDelay() {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetDelay(time.Minute)

	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"),
		option.WithRequestTimeout(50*time.Millisecond), option.WithMaxRetries(0))
	_, err := client.Chat.Completions.New(context.Background(), hello())
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// true
}

// Connections shows whether clients reuse their connections: one client
// per call opens one connection per call.
func ExampleServer_Connections() {
	srv := openaitest.NewServer()
	defer srv.Close()

	shared := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"))
	for range 5 {
		if _, err := shared.Chat.Completions.New(context.Background(), hello()); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("one shared client:", srv.Connections(), "connection")

	for range 5 {
		perCall := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"))
		if _, err := perCall.Chat.Completions.New(context.Background(), hello()); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("plus a client per call:", srv.Connections(), "connections")
	// Output:
	// one shared client: 1 connection
	// plus a client per call: 6 connections
}
