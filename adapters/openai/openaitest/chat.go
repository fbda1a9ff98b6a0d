package openaitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// chatPath is the Chat Completions path of the OpenAI API.
const chatPath = "/v1/chat/completions"

// azureRoute reports whether path is the Chat Completions path of an Azure
// OpenAI deployment, /openai/deployments/{deployment}/chat/completions, and
// returns the deployment.
func azureRoute(path string) (deployment string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/openai/deployments/")
	if !ok {
		return "", false
	}
	deployment, ok = strings.CutSuffix(rest, "/chat/completions")
	if !ok || deployment == "" || strings.Contains(deployment, "/") {
		return "", false
	}
	return deployment, true
}

// chatRequest holds the fields of a Chat Completions request that the server
// reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// text returns the text of a message's content, which is either a string or
// an array of parts, of which only text parts count.
func text(content json.RawMessage) string {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(content, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type message struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal"`
}

type choice struct {
	Index        int       `json:"index"`
	Message      *message  `json:"message,omitempty"`
	Delta        *message  `json:"delta,omitempty"`
	FinishReason *string   `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

var ids atomic.Int64 // numbers completion IDs across servers

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	s.lastHeader = r.Header.Clone()
	s.lastURI = r.URL.RequestURI()
	key := s.apiKey
	s.mu.Unlock()

	deployment, azure := azureRoute(r.URL.Path)
	switch {
	case r.URL.Path != chatPath && !azure:
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown path "+r.URL.Path)
		return
	case azure && r.URL.Query().Get("api-version") == "":
		writeError(w, http.StatusNotFound, "invalid_request_error", "missing the api-version query parameter")
		return
	case key != "" && !authorized(r, key, azure):
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "incorrect API key provided")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method "+r.Method+" not allowed")
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	if !s.wait(r) {
		return
	}
	if code := int(s.status.Load()); code != 0 && code != http.StatusOK {
		writeError(w, code, "server_error", "injected failure: "+http.StatusText(code))
		return
	}

	reply, prompt := s.answer(&req)
	c := completion{
		ID:      "chatcmpl-" + strconv.FormatInt(ids.Add(1), 10),
		Created: time.Now().Unix(),
		Model:   req.Model,
	}
	if azure {
		c.Model = deployment
	}
	u := &usage{PromptTokens: prompt, CompletionTokens: len(strings.Fields(reply))}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if req.Stream {
		stream(w, c, reply, req.StreamOptions.IncludeUsage, u)
		return
	}
	stop := "stop"
	c.Object = "chat.completion"
	c.Choices = []choice{{Message: &message{Role: "assistant", Content: &reply}, FinishReason: &stop}}
	c.Usage = u
	body, _ := json.Marshal(c)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// authorized reports whether r carries key: as "Authorization: Bearer key",
// or, on an Azure route, as "api-key: key".
func authorized(r *http.Request, key string, azure bool) bool {
	if r.Header.Get("Authorization") == "Bearer "+key {
		return true
	}
	return azure && r.Header.Get("Api-Key") == key
}

// answer returns the assistant's reply to req and the number of words in
// the request's messages, which stands for its prompt tokens.
func (s *Server) answer(req *chatRequest) (reply string, prompt int) {
	last := ""
	for _, m := range req.Messages {
		last = text(m.Content)
		prompt += len(strings.Fields(last))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replySet {
		return s.reply, prompt
	}
	return last, prompt
}

// stream writes reply as server-sent events, one chunk per word, the way the
// API streams a completion: a first chunk with the role, the content chunks,
// a chunk with the finish reason, optionally a chunk with the usage and no
// choices, and "data: [DONE]".
func stream(w http.ResponseWriter, c completion, reply string, withUsage bool, u *usage) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	c.Object = "chat.completion.chunk"
	send := func(ch []choice, u *usage) {
		c.Choices, c.Usage = ch, u
		data, _ := json.Marshal(c)
		fmt.Fprintf(w, "data: %s\n\n", data)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	empty := ""
	send([]choice{{Delta: &message{Role: "assistant", Content: &empty}}}, nil)
	for _, word := range strings.SplitAfter(reply, " ") {
		if word != "" {
			send([]choice{{Delta: &message{Content: &word}}}, nil)
		}
	}
	stop := "stop"
	send([]choice{{Delta: &message{}, FinishReason: &stop}}, nil)
	if withUsage {
		send([]choice{}, u)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// writeError answers with an OpenAI-style error body.
func writeError(w http.ResponseWriter, code int, typ, msg string) {
	var e errorBody
	e.Error.Message, e.Error.Type = msg, typ
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Retry-After-Ms", "1")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
