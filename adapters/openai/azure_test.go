package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
)

// azureEnvVars are the variables that AzureConfigFromEnv reads.
var azureEnvVars = []string{"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES", "OPENAI_MODEL"}

// setAzureEnv unsets the variables of azureEnvVars, then sets those of vars,
// until the test ends.
func setAzureEnv(t testing.TB, vars map[string]string) {
	t.Helper()
	for _, name := range azureEnvVars {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	for name, value := range vars {
		t.Setenv(name, value)
	}
}

func newAzureClients(t testing.TB, opts *reuseopenai.Options) *reuseopenai.AzureClients {
	t.Helper()
	if opts == nil {
		opts = &reuseopenai.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	c, err := reuseopenai.NewAzure(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAzureGet(t *testing.T) {
	srv := newServer(t)
	srv.SetAPIKey("az-key")
	c := newAzureClients(t, nil)
	cfg := reuseopenai.AzureConfig{Endpoint: srv.Endpoint + "/", APIVersion: "2024-10-21", APIKey: "az-key", MaxRetries: 1}
	client, err := c.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := params("hi")
	p.Model = "my-deployment"
	resp, err := client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "hi" || resp.Model != "my-deployment" {
		t.Errorf("reply %q from model %q, want hi from my-deployment", resp.Choices[0].Message.Content, resp.Model)
	}
	if got, want := srv.LastRequestURI(), "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"; got != want {
		t.Errorf("request URI = %q, want %q", got, want)
	}
	h := srv.LastHeader()
	if h.Get("Api-Key") != "az-key" || h.Get("Authorization") != "" {
		t.Errorf("api-key %q, Authorization %q; want the key in api-key alone", h.Get("Api-Key"), h.Get("Authorization"))
	}
	if again, _ := c.Get(reuseopenai.AzureConfig{Endpoint: srv.Endpoint, APIVersion: "2024-10-21", APIKey: "az-key", MaxRetries: 1}); again != client {
		t.Error("Get of an equal AzureConfig returned another client")
	}
	for _, other := range []reuseopenai.AzureConfig{
		{Endpoint: srv.Endpoint, APIVersion: "2025-01-01", APIKey: "az-key", MaxRetries: 1},
		{Endpoint: srv.Endpoint, APIVersion: "2024-10-21", APIKey: "az-other", MaxRetries: 1},
		{Endpoint: srv.Endpoint, APIVersion: "2024-10-21", APIKey: "az-key"},
	} {
		if got, err := c.Get(other); err != nil || got == client {
			t.Errorf("Get(%v) = %p, %v; want another client", other, got, err)
		}
	}

	// A wrong key: the server's 401, which is not retried and shows no key.
	wrong, _ := c.Get(reuseopenai.AzureConfig{Endpoint: srv.Endpoint, APIVersion: "2024-10-21", APIKey: "az-other", MaxRetries: 1})
	before := srv.Requests()
	_, err = wrong.Chat.Completions.New(context.Background(), p)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("err = %v, want a 401", err)
	}
	if got := srv.Requests() - before; got != 1 {
		t.Errorf("%d attempts of a 401, want 1", got)
	}
	if err != nil && strings.Contains(err.Error(), "az-other") {
		t.Errorf("error shows the key: %v", err)
	}
	if n := c.Len(); n != 4 {
		t.Errorf("Len() = %d, want 4", n)
	}
	var requests uint64
	for _, s := range c.ClientStats() {
		if s.Config.APIKey != "" {
			t.Errorf("ClientStats lists a key: %v", s.Config)
		}
		requests += s.Requests
	}
	if requests != 2 {
		t.Errorf("ClientStats count %d requests, want 2", requests)
	}
}

func TestAzureConfigFromEnv(t *testing.T) {
	setAzureEnv(t, map[string]string{
		"AZURE_OPENAI_ENDPOINT": " https://res.openai.azure.com/ ", "AZURE_OPENAI_API_KEY": "az-env",
		"OPENAI_API_VERSION": "2025-04-01-preview", "OPENAI_TIMEOUT": "20", "OPENAI_MAX_RETRIES": "4",
	})
	got, err := reuseopenai.AzureConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := reuseopenai.AzureConfig{Endpoint: "https://res.openai.azure.com", APIVersion: "2025-04-01-preview", APIKey: "az-env", Timeout: 20 * time.Second, MaxRetries: 4}
	if got != want {
		t.Errorf("AzureConfigFromEnv() = %v, want %v", got, want)
	}

	setAzureEnv(t, map[string]string{"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com", "AZURE_OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "v1"})
	if got, err := reuseopenai.AzureConfigFromEnv(); err != nil || got.Timeout != reuseopenai.DefaultTimeout || got.MaxRetries != reuseopenai.DefaultMaxRetries {
		t.Errorf("defaults: %v, %v; want DefaultTimeout and DefaultMaxRetries", got, err)
	}
}

func TestAzureConfigFromEnvErrors(t *testing.T) {
	base := map[string]string{"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com", "AZURE_OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "2024-10-21"}
	tests := []struct{ name, value, want string }{
		{"AZURE_OPENAI_ENDPOINT", "", "missing Azure OpenAI endpoint"},
		{"AZURE_OPENAI_ENDPOINT", "res.openai.azure.com", "not an absolute http or https URL"},
		{"AZURE_OPENAI_ENDPOINT", "http://res.openai.azure.com", "is plain http to a host other than localhost or a loopback address; Azure credentials need https"},
		{"AZURE_OPENAI_ENDPOINT", "https://user:pw@res.openai.azure.com", "has a user name or password; Azure OpenAI takes an API key or a token credential"},
		{"AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com?api-version=1", "has a query, which openai-go would drop; pass query parameters with option.WithQuery"},
		{"AZURE_OPENAI_ENDPOINT", "sk-pasted-key", "not an absolute http or https URL"},
		{"AZURE_OPENAI_API_KEY", "", "missing API key"},
		{"AZURE_OPENAI_API_KEY", "az-key\r\n", "ends with a line break (CR or LF), which cannot go into a header; remove the line ending where the value is stored"},
		{"OPENAI_API_VERSION", "", `missing API version, such as "2024-10-21"`},
		{"OPENAI_API_VERSION", "2024-10-21&x=1", `not an API version, such as "2024-10-21" (letters, digits, "-", "." and "_")`},
		{"OPENAI_TIMEOUT", "1_000", `not a number of seconds (such as "30" or "2.5") or a Go duration (such as "90s")`},
		{"OPENAI_MAX_RETRIES", "100", "more than 10, the most retries this package allows (MaxRetriesLimit)"},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		env[tt.name] = tt.value
		setAzureEnv(t, env)
		_, err := reuseopenai.AzureConfigFromEnv()
		var envErr *reuseopenai.EnvError
		if !errors.As(err, &envErr) || envErr.Var != tt.name {
			t.Errorf("%s=%q: err = %v, want an *EnvError for %s", tt.name, tt.value, err, tt.name)
			continue
		}
		if want := "openai: " + tt.name + ": " + tt.want; err.Error() != want {
			t.Errorf("%s=%q: error %q, want %q", tt.name, tt.value, err, want)
		}
	}
}

func TestAzureGetErrors(t *testing.T) {
	c := newAzureClients(t, nil)
	ok := reuseopenai.AzureConfig{Endpoint: "https://res.openai.azure.com", APIVersion: "2024-10-21", APIKey: "k"}
	tests := []struct {
		name   string
		change func(*reuseopenai.AzureConfig)
		want   string
	}{
		{"no endpoint", func(c *reuseopenai.AzureConfig) { c.Endpoint = "" }, "openai: AzureConfig.Endpoint is missing"},
		{"no version", func(c *reuseopenai.AzureConfig) { c.APIVersion = "" }, "openai: AzureConfig.APIVersion is missing"},
		{"no key", func(c *reuseopenai.AzureConfig) { c.APIKey = "" }, "openai: missing API key"},
		{"negative timeout", func(c *reuseopenai.AzureConfig) { c.Timeout = -1 }, "openai: AzureConfig.Timeout -1ns is negative"},
		{"too many retries", func(c *reuseopenai.AzureConfig) { c.MaxRetries = 11 }, "openai: AzureConfig.MaxRetries 11 is more than MaxRetriesLimit (10)"},
		{"http", func(c *reuseopenai.AzureConfig) { c.Endpoint = "http://res.example" }, "openai: AzureConfig.Endpoint: is plain http to a host other than localhost or a loopback address; Azure credentials need https"},
		{"key with LF", func(c *reuseopenai.AzureConfig) { c.APIKey = "k\n" }, "openai: AzureConfig.APIKey: ends with a line break (CR or LF), which cannot go into a header; remove the line ending where the value is stored"},
		{"bad version", func(c *reuseopenai.AzureConfig) { c.APIVersion = "a b" }, `openai: AzureConfig.APIVersion: not an API version, such as "2024-10-21" (letters, digits, "-", "." and "_")`},
	}
	for _, tt := range tests {
		cfg := ok
		tt.change(&cfg)
		if client, err := c.Get(cfg); err == nil || err.Error() != tt.want || client != nil {
			t.Errorf("%s: Get = %p, %v; want %q", tt.name, client, err, tt.want)
		}
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len() = %d after failed Gets", n)
	}
	c.Close()
	if _, err := c.Get(reuseopenai.AzureConfig{}); !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, _, err := c.FromEnv(""); !errors.Is(err, reuseopenai.ErrClosed) {
		t.Errorf("FromEnv after Close: %v, want ErrClosed", err)
	}
}

// TestAzureCanary checks that an AzureConfig, an AzureClients and their
// logs and errors never show the API key.
func TestAzureCanary(t *testing.T) {
	srv := newServer(t)
	setAzureEnv(t, map[string]string{"AZURE_OPENAI_ENDPOINT": srv.Endpoint, "AZURE_OPENAI_API_KEY": canaryKey, "OPENAI_API_VERSION": "2024-10-21", "OPENAI_MODEL": "dep"})
	cfg, err := reuseopenai.AzureConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	keyFP := fingerprintOf(t, cfg.LogValue().Group())
	for _, verb := range verbs {
		for _, arg := range []any{cfg, &cfg, []reuseopenai.AzureConfig{cfg}, struct{ C reuseopenai.AzureConfig }{cfg}} {
			checkNoCanary(t, fmt.Sprintf("Sprintf(%q, %T)", verb, arg), fmt.Sprintf(verb, arg))
		}
	}
	checkNoCanary(t, "String()", cfg.String(), "APIKey:"+keyFP, "APIVersion:2024-10-21")
	b, _ := json.Marshal(cfg)
	checkNoCanary(t, "JSON", string(b), `"api_key":"`+keyFP+`"`)

	logger, buf := logBuffers()
	c := newAzureClients(t, &reuseopenai.Options{Logger: logger})
	client, model, err := c.FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	if model != "dep" {
		t.Errorf("model = %q, want OPENAI_MODEL's dep", model)
	}
	p := params("hi")
	p.Model = model
	if _, err := client.Chat.Completions.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got := srv.LastHeader().Get("Api-Key"); got != canaryKey {
		t.Errorf("api-key = %q, want the key", got)
	}
	srv.SetStatus(http.StatusBadRequest)
	_, err = client.Chat.Completions.New(context.Background(), p)
	if err == nil {
		t.Fatal("no error from a 400")
	}
	checkNoCanary(t, "error of a call", fmt.Sprintf("%v %+v", err, err))
	for _, verb := range verbs {
		checkNoCanary(t, "AzureClients "+verb, fmt.Sprintf(verb, c))
	}
	checkNoCanary(t, "Configs()", fmt.Sprintf("%v %+v %#v", c.Configs(), c.Configs(), c.ClientStats()), keyFP)
	b, _ = json.Marshal(c.Configs())
	checkNoCanary(t, "JSON of Configs()", string(b), keyFP)
	c.Close()
	checkNoCanary(t, "log", buf.String(), "openai: client created", "api_key="+keyFP, "api_version=2024-10-21", "endpoint="+srv.Endpoint)
	if _, err := c.Get(reuseopenai.AzureConfig{Endpoint: "http://u:" + canaryPassword + "@x", APIVersion: "1", APIKey: canaryKey}); err == nil {
		t.Error("no error")
	} else {
		checkNoCanary(t, "error", err.Error())
	}
}

// fingerprintOf returns the api_key attribute of attrs.
func fingerprintOf(t *testing.T, attrs []slog.Attr) string {
	t.Helper()
	for _, a := range attrs {
		if a.Key == "api_key" {
			return a.Value.String()
		}
	}
	t.Fatal("no api_key attribute")
	return ""
}
