package openai_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

// benchEnv is a typical environment: a key, a base URL, an organization and
// the two settings of this package.
var benchEnv = map[string]string{
	"OPENAI_API_KEY":     "sk-bench-0123456789abcdef0123456789abcdef",
	"OPENAI_BASE_URL":    "https://api.openai.com/v1",
	"OPENAI_ORG_ID":      "org-bench",
	"OPENAI_TIMEOUT":     "60",
	"OPENAI_MAX_RETRIES": "2",
}

// enabled is a slog.Handler that accepts every record and drops it, to
// measure the cost of logging at Debug.
type enabled struct{ slog.Handler }

func (enabled) Enabled(context.Context, slog.Level) bool { return true }

// BenchmarkFromEnv measures FromEnv on a configuration it already has: it
// reads the environment, finds the Config unchanged and reuses the client.
func BenchmarkFromEnv(b *testing.B) {
	setEnv(b, benchEnv)
	for _, bc := range []struct {
		name   string
		logger *slog.Logger
	}{
		{"debug=off", quiet},
		{"debug=on", slog.New(enabled{slog.DiscardHandler})},
	} {
		c := newClients(b, &reuseopenai.Options{Logger: bc.logger})
		if _, _, err := c.FromEnv(""); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name+"/goroutines=1", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.FromEnv("")
			}
		})
		b.Run(bc.name+"/goroutines=all", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.FromEnv("")
				}
			})
		})
	}
}

// BenchmarkGet measures Get on a Config it already has.
func BenchmarkGet(b *testing.B) {
	c := newClients(b, nil)
	cfg := reuseopenai.Config{APIKey: benchEnv["OPENAI_API_KEY"], Organization: "org-bench", MaxRetries: 2}
	if _, err := c.Get(cfg); err != nil {
		b.Fatal(err)
	}
	b.Run("goroutines=1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Get(cfg)
		}
	})
	b.Run("goroutines=all", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Get(cfg)
			}
		})
	})
}

// BenchmarkChatCompletions sends chat completions to an openaitest server
// from 32 goroutines, getting the client three ways:
//
//   - client=per-call: openai.NewClient on every call. Each client has its own
//     transport; the benchmark closes its idle connection after the call, as
//     otherwise thousands of sockets would stay open for 90 s each.
//   - client=sdk-default: one openai.NewClient shared by all calls, over
//     openai-go's default transport, which keeps 2 idle connections per host.
//   - client=reuse: Clients.FromEnv on every call.
//
// conns/op is the TCP connections the server accepted per call. The server
// runs in the same process, so allocs/op and B/op include its work, which is
// the same for all three.
func BenchmarkChatCompletions(b *testing.B) {
	const concurrency = 32
	p := params("Hello!")
	ctx := context.Background()
	strategies := []struct {
		name  string
		setup func(b *testing.B, srv *openaitest.Server) func() error
	}{
		{"per-call", func(b *testing.B, srv *openaitest.Server) func() error {
			return func() error {
				tr := http.DefaultTransport.(*http.Transport).Clone()
				defer tr.CloseIdleConnections()
				client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-bench"),
					option.WithHTTPClient(&http.Client{Transport: tr}))
				_, err := client.Chat.Completions.New(ctx, p)
				return err
			}
		}},
		{"sdk-default", func(b *testing.B, srv *openaitest.Server) func() error {
			client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-bench"))
			return func() error {
				_, err := client.Chat.Completions.New(ctx, p)
				return err
			}
		}},
		{"reuse", func(b *testing.B, srv *openaitest.Server) func() error {
			setEnv(b, map[string]string{"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": srv.URL})
			c := newClients(b, nil)
			return func() error {
				client, model, err := c.FromEnv("")
				if err != nil {
					return err
				}
				q := p
				q.Model = model
				_, err = client.Chat.Completions.New(ctx, q)
				return err
			}
		}},
	}
	for _, s := range strategies {
		b.Run("concurrency=32/client="+s.name, func(b *testing.B) {
			srv := openaitest.NewServer()
			defer srv.Close()
			call := s.setup(b, srv)
			b.ReportAllocs()
			b.ResetTimer()
			runConcurrent(b, concurrency, call)
			b.StopTimer()
			conns := srv.Connections()
			b.ReportMetric(float64(conns)/float64(b.N), "conns/op")
			b.ReportMetric(float64(conns), "conns")
		})
	}
}

// runConcurrent makes b.N calls of call from n goroutines.
func runConcurrent(b *testing.B, n int, call func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := call(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
