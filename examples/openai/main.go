// Command openai shows what caching openai-go clients buys: a burst of
// concurrent chat completions through reuse's GetClient, then the same burst
// with a client built per call, side by side.
//
// With no OPENAI_API_KEY in the environment it starts an in-process
// OpenAI-compatible server (openaitest) on 127.0.0.1 and talks to it, so it
// runs offline; with a key it talks to the OpenAI API, or to OPENAI_BASE_URL.
//
//	go run ./examples/openai [-calls 48] [-concurrency 16]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"golang.org/x/sync/errgroup"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
	"github.com/reuse-go/reuse/keyedcache"
)

func main() {
	calls := flag.Int("calls", 48, "chat completions in each burst")
	concurrency := flag.Int("concurrency", 16, "chat completions in flight at once")
	flag.Parse()
	if _, err := run(context.Background(), os.Stdout, *calls, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "examples/openai:", err)
		os.Exit(1)
	}
}

// summary is what run measured.
type summary struct {
	cached, perCall result
	stats           keyedcache.Stats // what GetClient's cache did during the first burst
}

// run makes both bursts and prints the comparison to w.
func run(ctx context.Context, w io.Writer, calls, concurrency int) (summary, error) {
	if calls < 1 || concurrency < 1 {
		return summary{}, fmt.Errorf("-calls and -concurrency must be at least 1 (got %d and %d)", calls, concurrency)
	}
	var srv *openaitest.Server
	if os.Getenv("OPENAI_API_KEY") == "" {
		srv = openaitest.NewServer()
		defer srv.Close()
		srv.SetDelay(10 * time.Millisecond) // a little latency, so that calls overlap
		os.Setenv("OPENAI_BASE_URL", srv.URL)
		os.Setenv("OPENAI_API_KEY", "sk-local-example")
		fmt.Fprintf(w, "No OPENAI_API_KEY set: using an in-process OpenAI-compatible server at %s.\n\n", srv.URL)
	} else {
		base := os.Getenv("OPENAI_BASE_URL")
		if base == "" {
			base = "the OpenAI API"
		}
		fmt.Fprintf(w, "Using %s with your OPENAI_API_KEY: %d chat completions in each of two bursts.\n\n", base, calls)
	}

	clients, err := reuseopenai.Default()
	if err != nil {
		return summary{}, err
	}
	before := clients.Stats()
	cached, err := burst(ctx, srv, calls, concurrency, func() (*openai.Client, string, func(), error) {
		client, model, err := reuseopenai.GetClient("")
		return client, model, func() {}, err
	})
	if err != nil {
		return summary{}, fmt.Errorf("burst through GetClient: %w", err)
	}
	stats := since(clients.Stats(), before)

	perCall, err := burst(ctx, srv, calls, concurrency, func() (*openai.Client, string, func(), error) {
		// What openai.NewClient does by default, made explicit so that the
		// pool can be closed: every client gets a transport of its own.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		client := openai.NewClient(option.WithHTTPClient(&http.Client{Transport: tr}))
		model := os.Getenv("OPENAI_MODEL")
		if model == "" {
			model = reuseopenai.DefaultModel
		}
		return &client, model, tr.CloseIdleConnections, nil
	})
	if err != nil {
		return summary{}, fmt.Errorf("burst with a client per call: %w", err)
	}

	fmt.Fprintf(w, "%d chat completions, %d at a time, model %s:\n\n", calls, concurrency, cached.model)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\treuse GetClient\ta client per call\t")
	fmt.Fprintf(tw, "requests\t%d\t%d\t\n", cached.requests, perCall.requests)
	if srv != nil {
		fmt.Fprintf(tw, "TCP connections opened\t%d\t%d\t\n", cached.conns, perCall.conns)
	}
	fmt.Fprintf(tw, "clients built\t%d\t%d\t\n", stats.Loads, perCall.requests)
	fmt.Fprintf(tw, "time\t%v\t%v\t\n", cached.elapsed.Round(time.Millisecond), perCall.elapsed.Round(time.Millisecond))
	tw.Flush()
	fmt.Fprintf(w, "\nGetClient's cache: %s, %s (%d of them joined a load in flight), %s created; hit ratio %.1f%%.\n",
		plural(stats.Hits, "hit"), plural(stats.Misses, "miss"), stats.Shared, plural(stats.Loads, "client"), 100*stats.HitRatio())
	if srv != nil && stats.Loads == 1 && cached.conns < perCall.conns && perCall.conns == int64(calls) {
		fmt.Fprintf(w, "Every call through GetClient shared one client and its connection pool; a client per call opened a connection per call.\n")
	}
	return summary{cached, perCall, stats}, nil
}

// result is what one burst did.
type result struct {
	requests int
	conns    int64 // TCP connections the local server accepted; 0 against a remote API
	elapsed  time.Duration
	model    string
}

// burst makes calls chat completions, concurrency at a time, each with the
// client that client returns, and closes what client says to after the call.
func burst(ctx context.Context, srv *openaitest.Server, calls, concurrency int,
	client func() (*openai.Client, string, func(), error)) (result, error) {
	var conns0 int64
	if srv != nil {
		conns0 = srv.Connections()
	}
	var done atomic.Int32
	var model atomic.Value
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	start := time.Now()
	for i := range calls {
		g.Go(func() error {
			c, m, release, err := client()
			if err != nil {
				return err
			}
			defer release()
			model.Store(m)
			resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    m,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(fmt.Sprintf("Say hello to caller %d.", i))},
			})
			if err != nil {
				return err
			}
			if len(resp.Choices) == 0 || strings.TrimSpace(resp.Choices[0].Message.Content) == "" {
				return errors.New("a chat completion came back empty")
			}
			done.Add(1)
			return nil
		})
	}
	err := g.Wait()
	r := result{requests: int(done.Load()), elapsed: time.Since(start)}
	if m, ok := model.Load().(string); ok {
		r.model = m
	}
	if srv != nil {
		r.conns = srv.Connections() - conns0
	}
	return r, err
}

// plural returns "1 hit", "2 hits", "1 miss", "2 misses".
func plural(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// since returns the counters of now that grew after before.
func since(now, before keyedcache.Stats) keyedcache.Stats {
	return keyedcache.Stats{
		Hits:       now.Hits - before.Hits,
		Misses:     now.Misses - before.Misses,
		Loads:      now.Loads - before.Loads,
		LoadErrors: now.LoadErrors - before.LoadErrors,
		Shared:     now.Shared - before.Shared,
		LoadTime:   now.LoadTime - before.LoadTime,
		Entries:    now.Entries,
	}
}
