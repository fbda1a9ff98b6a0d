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

// httpClient returns the http.Client that every client of a pool with the
// options o shares, and the tuned transport under it, if any:
//
//   - o.HTTPClient, if set, as it is;
//   - else, if o.WrapTransport is set, the tuned transport, wrapped by it;
//   - else, if http.DefaultTransport is not an *http.Transport (a program
//     wrapped it, for example for tracing), http.DefaultTransport itself, so
//     that the requests of every client go through the wrapper, as those of
//     openai.NewClient do; its pool is then the wrapped transport's;
//   - else the tuned transport.
//
// A nil result of o.WrapTransport is left to the caller to refuse.
func httpClient(o *Options) (*http.Client, *http.Transport) {
	if o.HTTPClient != nil {
		return o.HTTPClient, nil
	}
	perHost := o.MaxIdleConnsPerHost
	if perHost == 0 {
		perHost = defaultMaxIdleConnsPerHost
	}
	if o.WrapTransport != nil {
		t := newTransport(perHost)
		return &http.Client{Transport: o.WrapTransport(t)}, t
	}
	if _, ok := http.DefaultTransport.(*http.Transport); !ok && http.DefaultTransport != nil {
		return &http.Client{Transport: http.DefaultTransport}, nil
	}
	t := newTransport(perHost)
	return &http.Client{Transport: t}, t
}

// newTransport returns the tuned transport that the clients of one Clients
// share. It is a clone of http.DefaultTransport, when that is an
// *http.Transport, so that it keeps the process's proxy, dialer and TLS
// settings, as openai-go's own default does; else a transport with the
// settings of net/http's default. It keeps perHost idle connections per
// host, and four times as many in all (or math.MaxInt, where four times
// perHost would overflow). HTTP/2 stays on.
//
// Unlike openai-go's default, it sets no ResponseHeaderTimeout: every Config
// has a per-attempt Timeout, which covers the wait for the response headers
// too.
func newTransport(perHost int) *http.Transport {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = defaultTransport()
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

// defaultTransport returns a transport with the settings of net/http's
// http.DefaultTransport, for when a program replaced that with a wrapper
// whose transport cannot be reached.
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
