package bench

import (
	"context"
	"net/http"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// startClient starts client against srv and stops it when t ends.
func startClient(t *testing.T, client OpenAIClient, srv *openaitest.Server) getClient {
	t.Helper()
	get, stop, err := client.start(srv.URL)
	if err != nil {
		t.Fatalf("%s: %v", client.Name, err)
	}
	t.Cleanup(stop)
	return get
}

// TestOpenAIClientsSendSameRequests checks that the three ways of getting a
// client send the same request, headers included, and ignore the OPENAI_*
// variables of the environment.
func TestOpenAIClientsSendSameRequests(t *testing.T) {
	for name, value := range map[string]string{
		"OPENAI_BASE_URL":       "http://127.0.0.1:1/v1",
		"OPENAI_API_KEY":        "env-key",
		"OPENAI_ADMIN_KEY":      "env-admin-key",
		"OPENAI_ORG_ID":         "env-org",
		"OPENAI_PROJECT_ID":     "env-project",
		"OPENAI_WEBHOOK_SECRET": "env-secret",
		"OPENAI_CUSTOM_HEADERS": "X-From-Env: 1\nAuthorization: Bearer env-header",
	} {
		t.Setenv(name, value)
	}
	var first http.Header
	for _, client := range OpenAIClients() {
		srv := openaitest.NewServer()
		t.Cleanup(srv.Close)
		get := startClient(t, client, srv)
		if err := chat(context.Background(), get); err != nil {
			t.Fatalf("%s: %v", client.Name, err)
		}
		h := srv.LastHeader()
		if got := h.Get("Authorization"); got != "Bearer "+testAPIKey {
			t.Errorf("%s: Authorization = %q, want the test key", client.Name, got)
		}
		for _, name := range []string{"OpenAI-Organization", "OpenAI-Project", "X-From-Env"} {
			if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
				t.Errorf("%s: sent %s: %q, from the environment", client.Name, name, v)
			}
		}
		if got := h.Get("X-Stainless-Timeout"); got != "30" {
			t.Errorf("%s: X-Stainless-Timeout = %q, want 30", client.Name, got)
		}
		if first == nil {
			first = h
		} else if !reflect.DeepEqual(h, first) {
			t.Errorf("%s sent other headers than %s:\n%v\nvs\n%v", client.Name, OpenAIClients()[0].Name, h, first)
		}
	}
}

// TestOpenAIClientsDoNotRetry checks that no client retries a failed call.
func TestOpenAIClientsDoNotRetry(t *testing.T) {
	for _, client := range OpenAIClients() {
		srv := openaitest.NewServer()
		t.Cleanup(srv.Close)
		srv.SetStatus(http.StatusServiceUnavailable)
		get := startClient(t, client, srv)
		if err := chat(context.Background(), get); err == nil {
			t.Errorf("%s: a call to a failing server succeeded", client.Name)
		}
		if n := srv.Requests(); n != 1 {
			t.Errorf("%s: %d requests for one failed call, want 1: no retries", client.Name, n)
		}
	}
}

// TestOpenAIPerCallClosesConnections checks that the client made for a call
// closes its connection after the call, instead of leaving it open, with
// its goroutines, until the server closes it.
func TestOpenAIPerCallClosesConnections(t *testing.T) {
	srv := openaitest.NewServer()
	t.Cleanup(srv.Close)
	get := startClient(t, openAIClients[0], srv)
	const calls = 64
	before := runtime.NumGoroutine()
	for range calls {
		if err := chat(context.Background(), get); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Connections(); n != calls {
		t.Errorf("%d connections for %d calls, want one each", n, calls)
	}
	// An open connection holds three goroutines: the transport's reader and
	// writer, and the server's. Closed ones end soon after the call.
	var after int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before+8 {
			return
		}
	}
	t.Errorf("%d goroutines before %d calls, %d after: connections stay open", before, calls, after)
}
