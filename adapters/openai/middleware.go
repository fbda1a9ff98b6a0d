package openai

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3/option"
)

// attemptTimeout returns the middleware that bounds each attempt of a
// request to d: sending it, waiting for the response and reading its body
// or stream to the end.
//
// openai-go's own per-attempt timeout (option.WithRequestTimeout) ends the
// whole call when an attempt times out, without a retry. This middleware
// runs inside openai-go's retry loop instead, and so fails only the
// attempt: to openai-go, a timed-out attempt is an attempt without a
// response, which it retries, up to MaxRetries times, with its backoff,
// unless the caller's own context has ended.
//
// It also sends the timeout in whole seconds in X-Stainless-Timeout, as
// openai-go does for its own, unless a request option of the call set that
// header.
func attemptTimeout(d time.Duration) option.Middleware {
	secs := strconv.FormatInt(int64(d/time.Second), 10)
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Header.Get("X-Stainless-Timeout") == "" {
			req.Header.Set("X-Stainless-Timeout", secs)
		}
		ctx, cancel := context.WithTimeout(req.Context(), d)
		res, err := next(req.WithContext(ctx))
		if err != nil || res == nil || res.Body == nil {
			cancel()
			return res, err
		}
		// The timeout goes on while the caller reads the body.
		res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
		return res, nil
	}
}

// cancelOnClose is a response body that releases its attempt's timer when
// closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// RequestStats counts the HTTP requests that one client sent, as the
// middleware of its Clients saw them. An attempt is one HTTP request: a call
// that openai-go retries twice counts 3 Requests and 2 Retries.
type RequestStats struct {
	Requests uint64 // attempts sent, first attempts and retries alike
	Retries  uint64 // attempts that repeat a failed one (X-Stainless-Retry-Count > 0)
	Errors   uint64 // attempts that got no response (a connection error or a timeout) or a status >= 400
}

// requestCounts are the counters behind RequestStats; safe for concurrent
// use.
type requestCounts struct {
	requests, retries, errors atomic.Uint64
}

// middleware counts each attempt.
func (c *requestCounts) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	c.requests.Add(1)
	if n := req.Header.Get("X-Stainless-Retry-Count"); n != "" && n != "0" {
		c.retries.Add(1)
	}
	res, err := next(req)
	if err != nil || res == nil || res.StatusCode >= 400 {
		c.errors.Add(1)
	}
	return res, err
}

func (c *requestCounts) snapshot() RequestStats {
	return RequestStats{Requests: c.requests.Load(), Retries: c.retries.Load(), Errors: c.errors.Load()}
}
