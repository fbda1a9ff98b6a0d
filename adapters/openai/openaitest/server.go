package openaitest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// A Server is an OpenAI-compatible HTTP server listening on 127.0.0.1, for
// use in tests. Create one with [NewServer] and stop it with [Server.Close].
//
// A Server is safe for concurrent use.
type Server struct {
	// URL is the base URL of the API, of the form "http://127.0.0.1:port/v1",
	// to pass to option.WithBaseURL.
	URL string

	// Endpoint is the base URL of the server as an Azure OpenAI resource, of
	// the form "http://127.0.0.1:port", to pass to azure.WithEndpoint (with
	// azure.WithUnsafeAllowHTTP, as it is plain HTTP on a loopback address).
	Endpoint string

	srv       *httptest.Server
	done      chan struct{} // closed by Close; ends pending delays
	closeOnce sync.Once

	requests    atomic.Int64
	connections atomic.Int64
	delay       atomic.Int64 // a time.Duration
	status      atomic.Int64 // an HTTP status; 0 answers normally

	mu         sync.Mutex  // guards the fields below
	reply      string      // the assistant's reply; used when replySet
	replySet   bool        // false: echo the last message
	lastHeader http.Header // header of the latest request
	lastURI    string      // path and query of the latest request
	apiKey     string      // the credential requests must carry; "" takes any
}

// NewServer starts and returns a new Server. The caller should call
// [Server.Close] when finished, to shut it down.
func NewServer() *Server {
	s := &Server{done: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.connections.Add(1)
		}
	}
	s.srv.Start()
	s.URL = s.srv.URL + "/v1"
	s.Endpoint = s.srv.URL
	return s
}

// Close shuts down the server: it stops accepting connections, cuts short
// the delays of requests in progress, whose clients see their connection
// close without a response (a connection error, as when a real server goes
// away), and blocks until every request has been answered or cut. Calling
// Close again has no effect.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// Requests returns the number of HTTP requests the server has received, on
// any path, including those it answered with an error. A request that a
// client retried counts once per attempt.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Connections returns the number of TCP connections the server has accepted.
func (s *Server) Connections() int64 { return s.connections.Load() }

// SetDelay makes the server wait d before it answers each later request; 0,
// the default, answers at once. The wait ends early when the client gives up
// on the request, or when the server is closed, which closes the connection
// without an answer.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SetStatus makes the server answer every later request with the HTTP status
// code and an OpenAI-style error body instead of a completion; 0 or 200, the
// default, answers normally. Error responses carry "Retry-After-Ms: 1".
func (s *Server) SetStatus(code int) { s.status.Store(int64(code)) }

// SetReply makes the assistant answer every later request with text. Until
// SetReply is called, the reply repeats the text of the request's last
// message.
func (s *Server) SetReply(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply, s.replySet = text, true
}

// SetAPIKey makes the server require key as the credential of every later
// request: "Authorization: Bearer key" on the OpenAI routes, and on the Azure
// routes either "api-key: key" or that Authorization header (as a token
// credential sends it). A request without it is answered with status 401
// and an OpenAI-style error body. "", the default, accepts any credential
// or none.
func (s *Server) SetAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// LastRequestURI returns the path and query of the latest request the server
// received, such as
// "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", or ""
// if it has received none.
func (s *Server) LastRequestURI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastURI
}

// LastHeader returns a copy of the header of the latest request the server
// received, or nil if it has received none.
func (s *Server) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHeader.Clone()
}

// wait holds a response back for the delay set by SetDelay. It reports false
// if the client left first. If the server closes first, it aborts the
// handler with http.ErrAbortHandler, so that the client sees the connection
// close: a handler that returned without writing would send an empty
// 200 response, which a client would take for a malformed completion.
func (s *Server) wait(r *http.Request) bool {
	d := time.Duration(s.delay.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		panic(http.ErrAbortHandler)
	}
}
