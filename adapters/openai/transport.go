package openai

import (
	"math"
	"net"
	"net/http"
	"time"
)

// defaultMaxIdleConnsPerHost is the number of idle connections per host that
// the tuned transport keeps when Options.MaxIdleConnsPerHost is 0: enough
// for 100 requests in flight to one host over HTTP/1.1 to reuse their
// connections, where net/http keeps 2.
const defaultMaxIdleConnsPerHost = 100

// newTransport returns the transport that the clients of one Clients share.
// It is a clone of http.DefaultTransport, so that it keeps the process's
// proxy, dialer and TLS settings, as openai-go's own default does, but keeps
// perHost idle connections per host, and four times as many in all (or
// math.MaxInt, where four times perHost would overflow). HTTP/2 stays on.
//
// Unlike openai-go's default, it sets no ResponseHeaderTimeout: every Config
// has a per-attempt Timeout, which covers the wait for the response headers
// too.
func newTransport(perHost int) *http.Transport {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		// http.DefaultTransport was wrapped, for example for tracing; start
		// from the settings of net/http's own.
		t = &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   30 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: 1 * time.Second,
		}
	}
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConnsPerHost = perHost
	t.MaxIdleConns = math.MaxInt
	if perHost <= math.MaxInt/4 {
		t.MaxIdleConns = 4 * perHost
	}
	t.IdleConnTimeout = 90 * time.Second
	return t
}
