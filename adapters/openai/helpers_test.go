package openai_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/reuse-go/reuse/internal/leaktest"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

func TestMain(m *testing.M) {
	// The Clients of GetClient logs to the slog.Default() of its creation;
	// keep it out of the test output.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	leaktest.VerifyTestMain(m)
}

// envVars are the variables the package reads, and openai-go with it.
var envVars = []string{
	"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
	"OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES", "OPENAI_ADMIN_KEY",
	"OPENAI_WEBHOOK_SECRET", "OPENAI_CUSTOM_HEADERS", "OPENAI_MODEL",
}

// setEnv unsets every variable of envVars, then sets those of vars, until
// the test ends.
func setEnv(t testing.TB, vars map[string]string) {
	t.Helper()
	for _, name := range envVars {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	for name, value := range vars {
		t.Setenv(name, value)
	}
}

// quiet is a logger that drops every record.
var quiet = slog.New(slog.DiscardHandler)

// newClients returns a Clients that is closed when the test ends. A nil
// Logger in opts is replaced by quiet.
func newClients(t testing.TB, opts *reuseopenai.Options) *reuseopenai.Clients {
	t.Helper()
	if opts == nil {
		opts = &reuseopenai.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	c, err := reuseopenai.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newServer(t testing.TB) *openaitest.Server {
	t.Helper()
	srv := openaitest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func params(msg string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    reuseopenai.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(msg)},
	}
}

// chat sends msg through client and checks that the reply echoes it.
func chat(t testing.TB, client *openai.Client, msg string) {
	t.Helper()
	resp, err := client.Chat.Completions.New(context.Background(), params(msg))
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	if got := resp.Choices[0].Message.Content; got != msg {
		t.Fatalf("reply = %q, want %q", got, msg)
	}
}

// recorder is a slog.Handler that keeps the records it is given.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { panic("not used") }
func (r *recorder) WithGroup(string) slog.Handler      { panic("not used") }

func (r *recorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.recs...)
}

// attrs returns the attributes of rec by key, resolved, as strings.
func attrs(rec slog.Record) map[string]string {
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Resolve().String()
		return true
	})
	return m
}

// logBuffers returns a logger that writes text and JSON records of every
// level into the returned buffer.
func logBuffers() (*slog.Logger, *lockedBuffer) {
	var buf lockedBuffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(multi{slog.NewTextHandler(&buf, opts), slog.NewJSONHandler(&buf, opts)}), &buf
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// multi is a slog.Handler that hands every record to each of its handlers.
type multi []slog.Handler

func (m multi) Enabled(ctx context.Context, l slog.Level) bool { return m[0].Enabled(ctx, l) }

func (m multi) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range m {
		if err := h.Handle(ctx, r.Clone()); err != nil {
			return err
		}
	}
	return nil
}

func (m multi) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(multi, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (m multi) WithGroup(name string) slog.Handler {
	out := make(multi, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(name)
	}
	return out
}
