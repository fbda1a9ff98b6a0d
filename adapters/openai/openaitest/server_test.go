package openaitest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/reuse-go/reuse/internal/leaktest"

	"github.com/reuse-go/reuse/adapters/openai/openaitest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// newClient returns a client of srv over its own transport, whose idle
// connections are closed when the test ends.
func newClient(t *testing.T, srv *openaitest.Server, opts ...option.RequestOption) openai.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	opts = append([]option.RequestOption{
		option.WithBaseURL(srv.URL),
		option.WithAPIKey("sk-test"),
		option.WithHTTPClient(&http.Client{Transport: tr}),
	}, opts...)
	return openai.NewClient(opts...)
}

func newServer(t *testing.T) *openaitest.Server {
	t.Helper()
	srv := openaitest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func params(msg string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT5_4Mini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(msg)},
	}
}

func TestURL(t *testing.T) {
	srv := newServer(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || !strings.HasSuffix(srv.URL, "/v1") {
		t.Errorf("URL = %q, want http://127.0.0.1:port/v1", srv.URL)
	}
}

func TestChatCompletion(t *testing.T) {
	srv := newServer(t)
	client := newClient(t, srv)
	resp, err := client.Chat.Completions.New(context.Background(), params("hello there"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("got %d choices, want 1", len(resp.Choices))
	}
	c := resp.Choices[0]
	if c.Message.Content != "hello there" || c.Message.Role != "assistant" || c.FinishReason != "stop" {
		t.Errorf("choice = {content %q, role %q, finish %q}, want {hello there, assistant, stop}",
			c.Message.Content, c.Message.Role, c.FinishReason)
	}
	if resp.Model != string(openai.ChatModelGPT5_4Mini) || resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("completion = {model %q, object %q, id %q}", resp.Model, resp.Object, resp.ID)
	}
	if u := resp.Usage; u.PromptTokens != 2 || u.CompletionTokens != 2 || u.TotalTokens != 4 {
		t.Errorf("usage = %+v, want 2 + 2 = 4", u)
	}
	if got := srv.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}
}

func TestMessageParts(t *testing.T) {
	srv := newServer(t)
	client := newClient(t, srv)
	p := params("")
	p.Messages = []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("be brief"),
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("one "), openai.TextContentPart("two"),
		}),
	}
	resp, err := client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "one two" {
		t.Errorf("reply = %q, want the last message's text %q", got, "one two")
	}
}

func TestSetReply(t *testing.T) {
	srv := newServer(t)
	srv.SetReply("fixed answer")
	client := newClient(t, srv)
	resp, err := client.Chat.Completions.New(context.Background(), params("question"))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "fixed answer" {
		t.Errorf("reply = %q, want %q", got, "fixed answer")
	}
}

func TestStreaming(t *testing.T) {
	for _, withUsage := range []bool{false, true} {
		t.Run(map[bool]string{false: "usage=no", true: "usage=yes"}[withUsage], func(t *testing.T) {
			srv := newServer(t)
			client := newClient(t, srv)
			p := params("a streamed reply")
			if withUsage {
				p.StreamOptions.IncludeUsage = openai.Bool(true)
			}
			stream := client.Chat.Completions.NewStreaming(context.Background(), p)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			// role, three words, finish reason, and maybe usage
			want := 5
			if withUsage {
				want = 6
			}
			if chunks != want {
				t.Errorf("got %d chunks, want %d", chunks, want)
			}
			if got := acc.Choices[0].Message.Content; got != "a streamed reply" {
				t.Errorf("streamed content = %q, want %q", got, "a streamed reply")
			}
			if got := acc.Choices[0].FinishReason; got != "stop" {
				t.Errorf("finish reason = %q, want stop", got)
			}
			if withUsage && acc.Usage.TotalTokens != 6 {
				t.Errorf("usage total = %d, want 6", acc.Usage.TotalTokens)
			}
		})
	}
}

func TestStreamEndsWithDone(t *testing.T) {
	srv := newServer(t)
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	resp, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	if !strings.HasPrefix(string(b), "data: {") || !strings.HasSuffix(string(b), "\n\ndata: [DONE]\n\n") {
		t.Errorf("stream body = %q, want data events ending in data: [DONE]", b)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSetStatusRetries(t *testing.T) {
	srv := newServer(t)
	srv.SetStatus(http.StatusInternalServerError)
	client := newClient(t, srv, option.WithMaxRetries(2))
	_, err := client.Chat.Completions.New(context.Background(), params("hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("err = %v, want an *openai.Error with status 500", err)
	}
	if got := srv.Requests(); got != 3 {
		t.Errorf("Requests() = %d, want 3 (1 attempt + 2 retries)", got)
	}

	srv.SetStatus(0)
	if _, err := client.Chat.Completions.New(context.Background(), params("hi")); err != nil {
		t.Errorf("after SetStatus(0): %v", err)
	}
}

func TestSetStatusNotRetried(t *testing.T) {
	srv := newServer(t)
	srv.SetStatus(http.StatusBadRequest)
	client := newClient(t, srv, option.WithMaxRetries(2))
	_, err := client.Chat.Completions.New(context.Background(), params("hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("err = %v, want an *openai.Error with status 400", err)
	}
	if got := srv.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1: a 400 is not retried", got)
	}
}

func TestSetDelay(t *testing.T) {
	srv := newServer(t)
	const delay = 50 * time.Millisecond
	srv.SetDelay(delay)
	client := newClient(t, srv)
	start := time.Now()
	if _, err := client.Chat.Completions.New(context.Background(), params("hi")); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("response came after %v, want at least %v", elapsed, delay)
	}
}

func TestDelayTimeout(t *testing.T) {
	srv := newServer(t)
	srv.SetDelay(time.Hour)
	client := newClient(t, srv, option.WithMaxRetries(0), option.WithRequestTimeout(20*time.Millisecond))
	_, err := client.Chat.Completions.New(context.Background(), params("hi"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	// Close must not wait an hour for the abandoned request.
	srv.Close()
}

// TestCloseEndsDelay checks that Close cuts a delayed request short and
// that the client sees the connection go, not a response it cannot decode.
func TestCloseEndsDelay(t *testing.T) {
	srv := newServer(t)
	srv.SetDelay(time.Hour)
	client := newClient(t, srv, option.WithMaxRetries(0))
	errc := make(chan error, 1)
	go func() {
		_, err := client.Chat.Completions.New(context.Background(), params("hi"))
		errc <- err
	}()
	for srv.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	err := <-errc
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Errorf("request delayed past Close: err = %v, want a connection error (*url.Error)", err)
	}
}

// TestCloseAbortsConnection checks, below openai-go, that a request cut
// short by Close gets no response at all, rather than an empty 200.
func TestCloseAbortsConnection(t *testing.T) {
	srv := newServer(t)
	srv.SetDelay(time.Hour)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
		resp, err := hc.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	for srv.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	if r := <-done; r.err == nil {
		t.Errorf("request cut short by Close: status %d, body %q, no error; want a connection error", r.status, r.body)
	}
}

func TestConnections(t *testing.T) {
	srv := newServer(t)
	shared := newClient(t, srv)
	for range 5 {
		if _, err := shared.Chat.Completions.New(context.Background(), params("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("one client, 5 sequential calls: Connections() = %d, want 1", got)
	}
	for range 3 {
		c := newClient(t, srv)
		if _, err := c.Chat.Completions.New(context.Background(), params("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Connections(); got != 4 {
		t.Errorf("plus 3 new clients: Connections() = %d, want 4", got)
	}
	if got := srv.Requests(); got != 8 {
		t.Errorf("Requests() = %d, want 8", got)
	}
}

func TestLastHeader(t *testing.T) {
	srv := newServer(t)
	if h := srv.LastHeader(); h != nil {
		t.Errorf("LastHeader() before any request = %v, want nil", h)
	}
	client := newClient(t, srv, option.WithAPIKey("sk-header"), option.WithOrganization("org-1"))
	if _, err := client.Chat.Completions.New(context.Background(), params("hi")); err != nil {
		t.Fatal(err)
	}
	h := srv.LastHeader()
	if got := h.Get("Authorization"); got != "Bearer sk-header" {
		t.Errorf("Authorization = %q, want %q", got, "Bearer sk-header")
	}
	if got := h.Get("OpenAI-Organization"); got != "org-1" {
		t.Errorf("OpenAI-Organization = %q, want org-1", got)
	}
	h.Set("Authorization", "changed")
	if got := srv.LastHeader().Get("Authorization"); got != "Bearer sk-header" {
		t.Errorf("LastHeader returned the server's own map: after a change, Authorization = %q", got)
	}
}

func TestErrors(t *testing.T) {
	srv := newServer(t)
	defer http.DefaultClient.CloseIdleConnections()
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v1/models", "", http.StatusNotFound},
		{"GET", "/v1/chat/completions", "", http.StatusMethodNotAllowed},
		{"POST", "/v1/chat/completions", "{not json", http.StatusBadRequest},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, strings.TrimSuffix(srv.URL, "/v1")+tt.path, strings.NewReader(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want || !strings.Contains(string(b), `"error":{"message":`) {
			t.Errorf("%s %s: got %d %s, want %d with an error body", tt.method, tt.path, resp.StatusCode, b, tt.want)
		}
	}
	if got := srv.Requests(); got != int64(len(tests)) {
		t.Errorf("Requests() = %d, want %d: failed requests count too", got, len(tests))
	}
}
