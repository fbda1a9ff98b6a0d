// Package openai keeps openai-go clients (github.com/openai/openai-go/v3)
// for reuse: one client per distinct configuration, created on first use
// and shared by every later caller, over one tuned HTTP transport.
//
// Its name is that of openai-go's package, so import it under an alias:
//
//	import (
//		"github.com/openai/openai-go/v3"
//		reuseopenai "github.com/reuse-go/reuse/adapters/openai"
//	)
//
//	client, model, err := reuseopenai.GetClient("")
//	if err != nil {
//		return err
//	}
//	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
//		Model:    model,
//		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
//	})
//
// # Why
//
// openai.NewClient gives every client a clone of the default transport, with
// its own connection pool. A client built per call therefore opens a new
// TCP (and TLS) connection per call, and leaves each one idle for 90 s: 20
// sequential calls open 20 connections, where one shared client opens 1.
// And net/http keeps only 2 idle connections per host, so even one shared
// client churns connections under concurrency. Measured on a 2-core machine
// against a local server: 5 rounds of 50 concurrent calls opened 235
// connections, against 50 with more idle connections kept; the count varies
// from run to run and machine to machine.
//
// A [Clients] fixes both. Its Get returns the same *openai.Client for the
// same [Config], and all its clients share one transport that keeps 100 idle
// connections per host (see [Options].MaxIdleConnsPerHost), with HTTP/2 on.
// Connections to one host are shared across Configs too: clients that
// differ only in timeout, retries or key use the same pool.
//
// The Config covers every setting that shapes a client, since a cache keyed
// by less hands out stale clients: after a key rotation, a cache keyed by
// timeout and retries alone would return a client with the old key.
//
// # Entry points
//
//   - [GetClient](model): a client configured by the environment, from a
//     process-wide Clients, which [Default] returns; that Clients cannot be
//     closed. The simplest choice for most programs.
//   - [New] and [Clients.FromEnv]: the same, with your own [Options]
//     (logger, size bound, TTL, HTTP client or transport wrapper, request
//     options for every client), and a Close for tests.
//   - [Clients.Get](cfg): a client for a Config built in code, which
//     ignores the environment; for example one per tenant's key.
//   - [NewAzure], [AzureClients.Get] and [AzureClients.FromEnv]: the same for
//     Azure OpenAI, through openai-go's azure package, keyed by [AzureConfig].
//
// # Environment
//
// [ConfigFromEnv], [Clients.FromEnv] and [GetClient] read the OPENAI_
// variables; [AzureConfigFromEnv] and [AzureClients.FromEnv] read the
// AZURE_OPENAI_ ones, OPENAI_API_VERSION, OPENAI_TIMEOUT and
// OPENAI_MAX_RETRIES. An unset or empty variable takes its default; white
// space around OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION,
// OPENAI_TIMEOUT and OPENAI_MAX_RETRIES is ignored. A bad value is an error
// that names the variable ([*EnvError]) and says what is wrong without
// repeating the value, which may be a secret in the wrong place.
//
//	Variable               Field             Default                    Value
//	OPENAI_API_KEY         Config.APIKey     (required)                 the API key; a header value: no control characters (no line ending), no white space at either end
//	OPENAI_BASE_URL        Config.BaseURL    https://api.openai.com/v1  an absolute http or https URL, port 1 to 65535, no query, no fragment, no "@" in its path
//	OPENAI_ORG_ID          Organization      none                       sent as OpenAI-Organization; a header value
//	OPENAI_PROJECT_ID      Project           none                       sent as OpenAI-Project; a header value
//	OPENAI_TIMEOUT         Timeout           300 (seconds)              plain decimal seconds ("30", "2.5") or a Go duration ("90s", "1m30s"); > 0; no exponent, sign, "_", hex, Inf or NaN
//	OPENAI_MAX_RETRIES     MaxRetries        3                          decimal digits, 0 to MaxRetriesLimit (10)
//	OPENAI_ADMIN_KEY       (unexported)      none                       the admin API key; a header value
//	OPENAI_WEBHOOK_SECRET  (unexported)      none                       the webhook signing secret
//	OPENAI_CUSTOM_HEADERS  (unexported)      none                       "Name: value" lines sent with every request; blank lines and CRLF allowed; names must be tokens, values without control characters; none may set Authorization, OpenAI-Organization, OpenAI-Project or api-key
//	OPENAI_MODEL           -                 DefaultModel               the model (on Azure, the deployment) that FromEnv and GetClient return
//	AZURE_OPENAI_ENDPOINT  AzureConfig.Endpoint    (required)           the resource, such as https://my-resource.openai.azure.com; https, or http to a loopback address; no user info
//	AZURE_OPENAI_API_KEY   AzureConfig.APIKey      (required)           sent as api-key; a header value
//	OPENAI_API_VERSION     AzureConfig.APIVersion  (required)           such as 2024-10-21: letters, digits, "-", "." and "_"
//
// openai.NewClient reads all of the OPENAI_ variables but OPENAI_TIMEOUT,
// OPENAI_MAX_RETRIES and OPENAI_MODEL itself, at the time of the call; this
// package reads them all once, into a Config, so that a change of any of
// them gives a different client, and builds the client from that Config
// alone, without openai.NewClient's second reading: a client never depends
// on a value that changed between the two. FromEnv reads the environment on
// every call; when nothing changed, it does not allocate with Debug logging
// off, and it is fast: measured on a 2-core machine, about half a
// microsecond per call (BenchmarkFromEnv measures it on yours).
//
// # Timeouts and retries
//
// Config.Timeout is per attempt: it bounds sending a request, waiting for
// the response and reading the response body, or a whole stream, to its
// end. A failed attempt (a connection error, a timed-out attempt, or a
// status 408, 409, 429 or 5xx) is retried up to MaxRetries times, with
// openai-go's backoff of about 0.5 s, 1 s, 2 s, ... (at most 8 s, or
// option.WithMaxRetryDelay's bound) or what the server's Retry-After asks
// for. A middleware of this package enforces the timeout inside openai-go's
// retry loop, since openai-go's own per-attempt timeout
// (option.WithRequestTimeout) ends the call at the first timeout without a
// retry; a call-level WithRequestTimeout still works that way, and adds to
// the Config's. So one call can take up to (MaxRetries+1) × Timeout plus the
// backoff: with the defaults, over 20 minutes. To bound a whole call, pass
// a context with a deadline, which is never retried; for long streams,
// raise Timeout.
//
// # Request options and transports
//
// [Options].RequestOptions are openai-go request options applied to every
// client: a middleware for logging, tracing or metrics, a maximum retry
// delay, fixed headers. They come before the Config's own settings, which
// override any option that sets the same thing (the base URL, credentials,
// organization, project, retries, timeout, HTTP client): a cache keyed by
// Config must never hand out a client that sends something its Config, and
// its log records, do not say. The Options documentation lists them.
//
// A Clients sends through a tuned transport of its own, unless
// Options.HTTPClient is set; Options.WrapTransport wraps that transport,
// for tracing or metrics, while its clients keep sharing its pool. A
// program that replaced http.DefaultTransport by a wrapper, as the usual
// OpenTelemetry set-up does, has its wrapper honoured: without
// WrapTransport, the clients send through http.DefaultTransport, as
// openai.NewClient's do.
//
// [Clients.ClientStats] counts, per client, the HTTP requests it sent, the
// retries among them and the failed ones, from a middleware that costs a few
// atomic additions per request.
//
// # Logging
//
// A Clients logs through log/slog (Options.Logger, by default the
// slog.Default() of the time New is called): at level Info when it creates a
// client, at level Debug when it reuses or drops one. The records carry
// these attributes, none of them a secret:
//
//	base_url        always: the base URL, with any user name and password shown as "xxxxx"
//	timeout         always: the per-attempt timeout
//	max_retries     always
//	api_key         always: a fingerprint of the key, "hmac:" and 8 hex digits
//	organization    when set
//	project         when set
//	admin_key       when set: a fingerprint of the admin key
//	webhook_secret  when set: true
//	custom_headers  when set: the names of the custom headers, not their values
//	reason          on "client removed" only: Evicted, Expired, Cleared or Closed
//
// An AzureClients logs endpoint, api_version, timeout, max_retries and
// api_key (a fingerprint). What a record shows is what the client sends.
// When Debug is disabled, reusing a client costs no logging work and no
// allocation.
//
// # Secrets
//
// The API key, the admin key and the webhook secret never appear in a log
// record, an error, the JSON encoding of a Config, [Clients.Configs] or
// [Clients.Stats], nor, but for the two limits below, in what the fmt verbs
// (%v, %+v, %#v, %s, %q, ...) print of a Config: they show as fingerprints
// or as "set"; custom headers show by name only, and a base URL without its
// user name and password. A [Clients] or [AzureClients], printed with any
// verb, encoded or logged, shows only its number of clients, hits and
// misses.
//
// A fingerprint is the first 8 hex digits of the HMAC-SHA256 of the secret
// under a random key drawn when the process starts. It tells the keys of one
// process apart, in its logs and listings, and nothing more: the same key
// shows another fingerprint in another process, so a fingerprint cannot be
// matched against a key outside the process, nor a weak key (such as the
// "EMPTY" of some self-hosted servers) be guessed from it, as 8 hex digits
// of a plain SHA-256 would allow.
//
// The two limits come from fmt itself, which in two cases prints the fields of a
// Config without asking the Config: %p of a Config value (a bad verb, as a
// Config is not a pointer; %p of a *Config prints its address), and a Config
// held in an unexported field of another struct. There the exported fields
// show as they are, the APIKey and a password in the BaseURL included; the
// admin key, webhook secret and custom headers sit behind a pointer and show
// as an address. So hand fmt and slog a Config or a *Config itself, not a
// struct that hides one, and use %p only with a *Config. (A Clients in an
// unexported field shows as an address: it holds a single pointer.)
//
// # Concurrency
//
// [Clients], [GetClient] and the clients they return are safe for
// concurrent use. Concurrent calls for a new Config create its client once,
// and all of them receive it; creating one client never blocks reusing
// another. The clients are shared, so use them as they are: to vary a
// setting per call, pass request options to the call, not to the client.
// Clear and Close do not disturb clients already returned, which keep
// working; Close releases the idle connections of the tuned transport. The
// Clients of [Default] refuses to close, with [ErrCloseDefault], since any
// code of the process may share it through GetClient.
//
// The package openaitest provides an in-process OpenAI-compatible server, to
// test code that uses this package, or any openai-go client, without the
// network.
package openai
