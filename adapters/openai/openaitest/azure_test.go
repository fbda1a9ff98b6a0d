package openaitest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// azureClient returns a client of srv as an Azure OpenAI resource, over a
// transport whose idle connections are closed when the test ends.
func azureClient(t *testing.T, srv *openaitest.Server, version, key string) openai.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return openai.NewClient(
		option.WithHTTPClient(&http.Client{Transport: tr}),
		azure.WithEndpoint(srv.Endpoint, version),
		azure.WithAPIKey(key),
		azure.WithUnsafeAllowHTTP(),
		option.WithMaxRetries(0),
	)
}

func TestAzureRoute(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	if want := strings.TrimSuffix(srv.URL, "/v1"); srv.Endpoint != want {
		t.Errorf("Endpoint = %q, want %q", srv.Endpoint, want)
	}
	client := azureClient(t, srv, "2024-10-21", "az-key")
	p := hello()
	p.Model = "my-deployment"
	resp, err := client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello!" || resp.Model != "my-deployment" {
		t.Errorf("reply %q from %q, want Hello! from the deployment", resp.Choices[0].Message.Content, resp.Model)
	}
	if got, want := srv.LastRequestURI(), "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"; got != want {
		t.Errorf("LastRequestURI = %q, want %q", got, want)
	}
	if got := srv.LastHeader().Get("Api-Key"); got != "az-key" {
		t.Errorf("api-key = %q, want az-key", got)
	}
}

func TestAzureRouteErrors(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/openai/deployments/d/chat/completions", http.StatusNotFound}, // no api-version
		{"/openai/deployments//chat/completions?api-version=1", http.StatusNotFound},
		{"/openai/deployments/a/b/chat/completions?api-version=1", http.StatusNotFound},
		{"/openai/deployments/d/embeddings?api-version=1", http.StatusNotFound},
	} {
		resp, err := http.Post(srv.Endpoint+tt.path, "application/json", strings.NewReader(`{"messages":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("POST %s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSetAPIKey(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetAPIKey("right")
	for _, tt := range []struct {
		name   string
		client openai.Client
		ok     bool
	}{
		{"OpenAI, right key", newClient(t, srv, option.WithAPIKey("right")), true},
		{"OpenAI, wrong key", newClient(t, srv, option.WithAPIKey("wrong")), false},
		{"OpenAI, api-key header", newClient(t, srv, option.WithAPIKey("wrong"), option.WithHeader("Api-Key", "right")), false},
		{"Azure, right key", azureClient(t, srv, "1", "right"), true},
		{"Azure, wrong key", azureClient(t, srv, "1", "wrong"), false},
	} {
		_, err := tt.client.Chat.Completions.New(context.Background(), hello())
		var apiErr *openai.Error
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && (!errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized):
			t.Errorf("%s: err = %v, want a 401", tt.name, err)
		}
	}
}
