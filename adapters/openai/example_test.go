package openai_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/openai/openai-go/v3"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// setenv sets the OPENAI_ variables of vars and unsets the others, as a
// deployment would; the returned function restores them.
func setenv(vars map[string]string) (restore func()) {
	old := map[string]*string{}
	for _, name := range envVars {
		if v, ok := os.LookupEnv(name); ok {
			old[name] = &v
		} else {
			old[name] = nil
		}
		os.Unsetenv(name)
	}
	for name, value := range vars {
		os.Setenv(name, value)
	}
	return func() {
		for name, v := range old {
			if v == nil {
				os.Unsetenv(name)
			} else {
				os.Setenv(name, *v)
			}
		}
	}
}

// GetClient returns a client configured by the environment, shared by every
// caller with the same environment.
func ExampleGetClient() {
	srv := openaitest.NewServer() // stands in for the OpenAI API
	defer srv.Close()
	defer setenv(map[string]string{
		"OPENAI_API_KEY":  "sk-example",
		"OPENAI_BASE_URL": srv.URL,
		"OPENAI_TIMEOUT":  "30",
	})()

	client, model, err := reuseopenai.GetClient("")
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model)
	fmt.Println(resp.Choices[0].Message.Content)

	again, _, _ := reuseopenai.GetClient("")
	fmt.Println(again == client)
	// Output:
	// gpt-5.4-mini
	// Hello!
	// true
}

// New makes a Clients with its own options; Get returns one shared client
// per Config, and logs what it does.
func ExampleNew() {
	srv := openaitest.NewServer()
	defer srv.Close()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "base_url": // they change from run to run
				return slog.Attr{}
			case "api_key": // a fingerprint, keyed anew in each process
				a.Value = slog.StringValue(fingerprints.ReplaceAllString(a.Value.String(), "hmac:…"))
			}
			return a
		},
	}))
	clients, err := reuseopenai.New(&reuseopenai.Options{Logger: logger, MaxClients: 100})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()

	cfg := reuseopenai.Config{APIKey: "sk-example", BaseURL: srv.URL, Timeout: 30 * time.Second, MaxRetries: 2}
	client, err := clients.Get(cfg)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    reuseopenai.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)

	same, _ := clients.Get(cfg)
	fmt.Println(same == client)
	// Output:
	// level=INFO msg="openai: client created" timeout=30s max_retries=2 api_key=hmac:…
	// Hello!
	// level=DEBUG msg="openai: client reused" timeout=30s max_retries=2 api_key=hmac:…
	// true
	// level=DEBUG msg="openai: client removed" timeout=30s max_retries=2 api_key=hmac:… reason=Closed
}

// Every setting is part of the key: a different timeout gives another
// client, the same settings the same client.
func ExampleClients_Get() {
	clients, err := reuseopenai.New(&reuseopenai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()

	a, _ := clients.Get(reuseopenai.Config{APIKey: "sk-example", Timeout: 30 * time.Second})
	b, _ := clients.Get(reuseopenai.Config{APIKey: "sk-example", Timeout: time.Minute})
	c, _ := clients.Get(reuseopenai.Config{APIKey: "sk-example", Timeout: 30 * time.Second})
	fmt.Println(a == b, a == c, clients.Len())

	_, err = clients.Get(reuseopenai.Config{})
	fmt.Println(err)
	// Output:
	// false true 2
	// openai: missing API key
}

// FromEnv reads the environment on every call: the same variables give the
// same client, and a changed one, such as a rotated key, a new client.
func ExampleClients_FromEnv() {
	srv := openaitest.NewServer()
	defer srv.Close()
	defer setenv(map[string]string{
		"OPENAI_API_KEY":  "sk-example",
		"OPENAI_BASE_URL": srv.URL,
		"OPENAI_MODEL":    "gpt-example",
	})()

	clients, err := reuseopenai.New(&reuseopenai.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer clients.Close()

	client, model, err := clients.FromEnv("")
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model, resp.Choices[0].Message.Content)

	same, model, _ := clients.FromEnv("gpt-other")
	fmt.Println(same == client, model)

	os.Setenv("OPENAI_API_KEY", "sk-rotated")
	rotated, _, _ := clients.FromEnv("")
	fmt.Println(rotated == client, clients.Len())

	os.Setenv("OPENAI_MAX_RETRIES", "many")
	_, _, err = clients.FromEnv("")
	fmt.Println(err)
	// Output:
	// gpt-example Hello!
	// true gpt-other
	// false 2
	// openai: OPENAI_MAX_RETRIES: not a whole number from 0 to 10
}

// Default is the Clients behind GetClient, to read its Stats or list its
// Configs. The whole process shares it, so it cannot be closed.
func ExampleDefault() {
	srv := openaitest.NewServer()
	defer srv.Close()
	defer setenv(map[string]string{
		"OPENAI_API_KEY":  "sk-example-default",
		"OPENAI_BASE_URL": srv.URL,
	})()

	clients, err := reuseopenai.Default()
	if err != nil {
		log.Fatal(err)
	}
	client, _, err := reuseopenai.GetClient("")
	if err != nil {
		log.Fatal(err)
	}
	before := clients.Stats()
	same, _, _ := clients.FromEnv("")
	after := clients.Stats()
	fmt.Println(same == client, after.Hits-before.Hits, "hit")

	fmt.Println(clients.Close())
	again, _, err := reuseopenai.GetClient("")
	fmt.Println(again == client, err)
	// Output:
	// true 1 hit
	// openai: the default Clients is shared by the process and cannot be closed
	// true <nil>
}

// ConfigFromEnv reads the environment; a bad value is an error that names
// its variable.
func ExampleConfigFromEnv() {
	defer setenv(map[string]string{
		"OPENAI_API_KEY":     "sk-example",
		"OPENAI_TIMEOUT":     "2.5",
		"OPENAI_MAX_RETRIES": "5",
	})()

	cfg, err := reuseopenai.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Timeout, cfg.MaxRetries)

	os.Setenv("OPENAI_TIMEOUT", "soon")
	_, err = reuseopenai.ConfigFromEnv()
	fmt.Println(err)
	// Output:
	// 2.5s 5
	// openai: OPENAI_TIMEOUT: not a number of seconds (such as "30" or "2.5") or a Go duration (such as "90s")
}

// fingerprints matches the fingerprints of keys, which differ from process
// to process.
var fingerprints = regexp.MustCompile(`hmac:[0-9a-f]{8}`)

// A Config prints, encodes and logs its API key as a fingerprint, and its
// base URL without a user name or password. The fingerprint is keyed anew
// in each process, so this example shows it as "hmac:…".
func ExampleConfig_String() {
	cfg := reuseopenai.Config{
		APIKey: "sk-example", BaseURL: "https://user:pw@gateway.example/v1",
		Organization: "org-example", Timeout: time.Minute, MaxRetries: 2,
	}
	fmt.Println(fingerprints.ReplaceAllString(cfg.String(), "hmac:…"))
	fmt.Println(fingerprints.ReplaceAllString(fmt.Sprintf("%#v", cfg), "hmac:…"))
	b, _ := cfg.MarshalJSON()
	fmt.Println(fingerprints.ReplaceAllString(string(b), "hmac:…"))
	// Output:
	// {APIKey:hmac:… BaseURL:https://xxxxx@gateway.example/v1 Organization:org-example Project: Timeout:1m0s MaxRetries:2}
	// openai.Config{APIKey:"hmac:…", BaseURL:"https://xxxxx@gateway.example/v1", Organization:"org-example", Project:"", Timeout:60000000000, MaxRetries:2}
	// {"api_key":"hmac:…","base_url":"https://xxxxx@gateway.example/v1","organization":"org-example","timeout":"1m0s","max_retries":2}
}
