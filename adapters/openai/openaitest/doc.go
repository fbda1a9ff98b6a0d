// Package openaitest provides an in-process OpenAI-compatible HTTP server for
// tests, in the manner of [net/http/httptest].
//
// [NewServer] starts a server on 127.0.0.1 that answers the Chat Completions
// endpoint, POST /v1/chat/completions, both as one JSON document and, when the
// request asks for "stream": true, as server-sent events ending in
// "data: [DONE]", in the shapes that github.com/openai/openai-go/v3 parses.
// Point a client at it with option.WithBaseURL(srv.URL):
//
//	srv := openaitest.NewServer()
//	defer srv.Close()
//	client := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"))
//
// By default the assistant's reply repeats the text of the last message of the
// request, so a test can check what it sent; [Server.SetReply] fixes the reply.
//
// # Azure OpenAI
//
// The server also answers the Chat Completions route of an Azure OpenAI
// deployment, POST /openai/deployments/{deployment}/chat/completions, which
// requires the api-version query parameter (else 404, as a missing route)
// and answers with the deployment as the model. Point a client of openai-go's
// azure package at [Server.Endpoint]; as the server speaks plain HTTP on a
// loopback address, add azure.WithUnsafeAllowHTTP:
//
//	client := openai.NewClient(
//		azure.WithEndpoint(srv.Endpoint, "2024-10-21"),
//		azure.WithAPIKey("test"),
//		azure.WithUnsafeAllowHTTP(),
//	)
//
// # Credentials
//
// By default the server accepts any credential or none. [Server.SetAPIKey]
// makes it require one: "Authorization: Bearer key" on the OpenAI route,
// and on the Azure route the api-key header (or that Authorization header),
// answering any other request with status 401.
//
// # Observing a client
//
// The server counts the HTTP requests it receives ([Server.Requests]) and the
// TCP connections it accepts ([Server.Connections]). The second count shows
// whether a client reuses its connections: a client that keeps its idle
// connections opens about as many connections as it has requests in flight at
// once, while a client built per call opens one per call.
// [Server.LastHeader] returns the headers of the latest request, to check the
// credentials and headers a client sends, and [Server.LastRequestURI] its path
// and query.
//
// # Injecting latency and failures
//
// [Server.SetDelay] holds every response back for a while, to exercise
// request timeouts; [Server.SetStatus] makes every request fail with an HTTP
// status and an OpenAI-style error body, to exercise retries. Error responses
// carry "Retry-After-Ms: 1", so that a client retries at once instead of
// backing off for seconds; each retry is one more request in
// [Server.Requests].
//
// # Concurrency
//
// All methods of [Server] are safe for concurrent use, also while requests are
// being served. [Server.Close] waits for the requests in progress, cutting
// short any delay by closing the connection without an answer, so that the
// client sees a connection error, and leaves no goroutine of the server
// behind. Idle connections on the client side end when the server closes
// them; a test that checks for leaked goroutines may also call
// CloseIdleConnections on its client's transport.
package openaitest
