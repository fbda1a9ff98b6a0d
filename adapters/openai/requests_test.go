package openai_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
)

// TestFromEnvConcurrentConnections sends 40 rounds of 32 concurrent chat
// completions, each goroutine asking FromEnv for its client on every call.
// Reusing one client over the tuned transport must keep its connections
// open between rounds, where net/http's default of 2 idle connections per
// host closes all but 2 of them after each round and dials again (and a
// client per call would open 1280).
//
// The bound is exact, not a guess about timing. A request dials only when
// no idle connection is free, and each goroutine holds at most two
// connections at once: the one its last response came on, until net/http
// puts it back in the pool, and the one its next request dials. So as long
// as the pool keeps every idle connection (100 per host here), at most
// 2 × 32 connections are ever opened; about 32 is usual. Each round ends on
// a barrier and the server takes 10 ms per response, so that a round's
// requests overlap even on a loaded machine and the control must redial.
func TestFromEnvConcurrentConnections(t *testing.T) {
	const goroutines, calls = 32, 40
	burst := func(t *testing.T, opts *reuseopenai.Options) int64 {
		srv := newServer(t)
		srv.SetDelay(10 * time.Millisecond)
		setEnv(t, map[string]string{"OPENAI_API_KEY": "sk-conc", "OPENAI_BASE_URL": srv.URL})
		c := newClients(t, opts)
		var rounds [calls]sync.WaitGroup
		for i := range rounds {
			rounds[i].Add(goroutines)
		}
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				failed := false
				for i := range calls {
					if !failed {
						failed = !chatOnce(t, c)
					}
					rounds[i].Done()
					rounds[i].Wait()
				}
			})
		}
		wg.Wait()
		if got := srv.Requests(); got != goroutines*calls {
			t.Errorf("server got %d requests, want %d", got, goroutines*calls)
		}
		if s := c.Stats(); s.Loads != 1 || s.Hits+s.Misses != goroutines*calls {
			t.Errorf("Stats = %+v, want 1 load and %d Gets", s, goroutines*calls)
		}
		return srv.Connections()
	}

	tuned := burst(t, nil)
	t.Logf("%d × %d calls, 100 idle connections per host: %d connections", goroutines, calls, tuned)
	if tuned < 1 || tuned > 2*goroutines {
		t.Errorf("opened %d connections, want about %d and at most %d", tuned, goroutines, 2*goroutines)
	}
	// The control shows that the count depends on the transport's setting.
	churn := burst(t, &reuseopenai.Options{MaxIdleConnsPerHost: 2})
	t.Logf("%d × %d calls, 2 idle connections per host: %d connections", goroutines, calls, churn)
	if churn <= 2*tuned {
		t.Errorf("with 2 idle connections per host, %d connections; want more than twice the %d of the tuned transport", churn, tuned)
	}
}

// chatOnce sends one chat completion through the client FromEnv returns,
// and reports whether it succeeded.
func chatOnce(t *testing.T, c *reuseopenai.Clients) bool {
	client, model, err := c.FromEnv("")
	if err != nil {
		t.Errorf("FromEnv: %v", err)
		return false
	}
	p := params("hi")
	p.Model = model
	if _, err := client.Chat.Completions.New(context.Background(), p); err != nil {
		t.Errorf("chat completion: %v", err)
		return false
	}
	return true
}

func TestTimeoutEndsSlowResponse(t *testing.T) {
	srv := newServer(t)
	srv.SetDelay(10 * time.Second)
	c := newClients(t, nil)
	client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL, Timeout: 200 * time.Millisecond, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = client.Chat.Completions.New(context.Background(), params("hi"))
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	// Far above 200 ms, for a loaded machine, and far below the 10 s the
	// server would take.
	if elapsed >= 5*time.Second {
		t.Errorf("a 200 ms timeout ended a 10 s response after %v, want well under 5 s", elapsed)
	}
	if got := srv.Requests(); got != 1 {
		t.Errorf("%d attempts, want 1 with MaxRetries 0", got)
	}
}

func TestRetriesAgainst500(t *testing.T) {
	srv := newServer(t)
	srv.SetStatus(http.StatusInternalServerError)
	c := newClients(t, nil)
	client, err := c.Get(reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Chat.Completions.New(context.Background(), params("hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Errorf("err = %v, want an *openai.Error with status 500", err)
	}
	if got := srv.Requests(); got != 3 {
		t.Errorf("%d attempts, want exactly 3 (1 + 2 retries)", got)
	}
}

func TestStreamingThroughCachedClient(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	cfg := reuseopenai.Config{APIKey: "sk", BaseURL: srv.URL}
	for i := range 3 {
		client, err := c.Get(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := params("streamed through a cached client")
		p.StreamOptions.IncludeUsage = openai.Bool(true)
		stream := client.Chat.Completions.NewStreaming(context.Background(), p)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if got := acc.Choices[0].Message.Content; got != "streamed through a cached client" {
			t.Errorf("stream %d: content %q", i, got)
		}
		if acc.Usage.CompletionTokens != 5 {
			t.Errorf("stream %d: usage %+v, want 5 completion tokens", i, acc.Usage)
		}
	}
	if s := c.Stats(); s.Loads != 1 {
		t.Errorf("Stats().Loads = %d, want 1", s.Loads)
	}
}
