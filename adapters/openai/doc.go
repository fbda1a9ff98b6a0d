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
//     (logger, size bound, TTL, HTTP client), and a Close for tests.
//   - [Clients.Get](cfg): a client for a Config built in code, which
//     ignores the environment; for example one per tenant's key.
//
// # Environment
//
// [ConfigFromEnv], [Clients.FromEnv] and [GetClient] read these variables.
// An unset or empty variable takes its default; a bad value is an error
// that names the variable ([*EnvError]) and never repeats a secret.
//
//	Variable               Config field    Default                    Value
//	OPENAI_API_KEY         APIKey          (required)                 the API key
//	OPENAI_BASE_URL        BaseURL         https://api.openai.com/v1  an absolute http or https URL
//	OPENAI_ORG_ID          Organization    none                       sent as OpenAI-Organization
//	OPENAI_PROJECT_ID      Project         none                       sent as OpenAI-Project
//	OPENAI_TIMEOUT         Timeout         300 (seconds)              seconds, decimals allowed ("2.5"), or a Go duration ("90s", "2m"); > 0
//	OPENAI_MAX_RETRIES     MaxRetries      3                          an integer >= 0
//	OPENAI_ADMIN_KEY       (unexported)    none                       the admin API key
//	OPENAI_WEBHOOK_SECRET  (unexported)    none                       the webhook signing secret
//	OPENAI_CUSTOM_HEADERS  (unexported)    none                       "Name: value" lines, sent with every request
//	OPENAI_MODEL           -               DefaultModel               the model FromEnv and GetClient return
//
// openai.NewClient reads all but OPENAI_TIMEOUT, OPENAI_MAX_RETRIES and
// OPENAI_MODEL itself; ConfigFromEnv reads them all, so that a change of any
// of them gives a different client. FromEnv reads the environment on every
// call; when nothing changed, it does not allocate with Debug logging off,
// and it is fast: measured on a 2-core machine, about half a microsecond per
// call (BenchmarkFromEnv measures it on yours).
//
// # Timeouts and retries
//
// Config.Timeout is per attempt, as openai-go's option.WithRequestTimeout
// is: it bounds sending a request, waiting for the response and reading the
// response body, or a whole stream, to its end. A failed attempt (a
// connection error, a timeout, or a status 408, 409, 429 or 5xx) is retried
// up to MaxRetries times, with a backoff of about 0.5 s, 1 s, 2 s, ... (at
// most 8 s) or what the server's Retry-After asks for. So one call can take
// up to (MaxRetries+1) × Timeout plus the backoff: with the defaults, over 20
// minutes. To bound a whole call, pass a context with a deadline; for long
// streams, raise Timeout.
//
// # Logging
//
// A Clients logs through log/slog (Options.Logger, by default the
// slog.Default() of the time New is called): at level Info when it creates a
// client, at level Debug when it reuses or drops one. The records carry
// these attributes, none of them a secret:
//
//	base_url        always: the base URL, with any password shown as "xxxxx"
//	timeout         always: the per-attempt timeout
//	max_retries     always
//	api_key         always: a fingerprint of the key, "sha256:" and 8 hex digits
//	organization    when set
//	project         when set
//	admin_key       when set: a fingerprint of the admin key
//	webhook_secret  when set: true
//	custom_headers  when set: the names of the custom headers, not their values
//	reason          on "client removed" only: Evicted, Expired, Cleared or Closed
//
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
// password.
//
// The two limits come from fmt itself, which in two cases prints the fields of a
// Config without asking the Config: %p of a Config value (a bad verb, as a
// Config is not a pointer; %p of a *Config prints its address), and a Config
// held in an unexported field of another struct. There the exported fields
// show as they are, the APIKey and a password in the BaseURL included; the
// admin key, webhook secret and custom headers sit behind a pointer and show
// as an address. So hand fmt and slog a Config or a *Config itself, not a
// struct that hides one, and use %p only with a *Config.
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
