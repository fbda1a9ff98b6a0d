package openai

import (
	"sync"

	"github.com/openai/openai-go/v3"
)

// DefaultModel is the model that [GetClient] and [Clients.FromEnv] return
// when neither their argument nor OPENAI_MODEL names one: "gpt-5.4-mini",
// openai-go's shared.ChatModelGPT5_4Mini, a small, inexpensive chat model
// that openai-go v3.98.0 does not mark deprecated (unlike "gpt-4o-mini" and
// "gpt-4.1-mini", whose shutdown is announced). Set OPENAI_MODEL to use
// another, as OpenAI-compatible services other than OpenAI's need.
const DefaultModel = "gpt-5.4-mini"

// defaultClients is the Clients of GetClient, created on first use.
var defaultClients = sync.OnceValues(func() (*Clients, error) {
	c, err := New(nil)
	if err != nil {
		return nil, err
	}
	c.p.shared = true
	return c, nil
})

// Default returns the process-wide [Clients] that [GetClient] uses, creating
// it with default [Options] on the first call of either, for example to read
// its Stats or list its Configs. It cannot be closed, since any code of the
// process may rely on GetClient: its Close returns [ErrCloseDefault] and
// leaves it working. Its Clear works, and drops every client.
func Default() (*Clients, error) { return defaultClients() }

// GetClient returns [Clients.FromEnv](model) on a process-wide [Clients]
// with default [Options], created on the first call, with the slog.Default()
// of that time as its logger. It is the shortest way to a shared client
// configured by the environment:
//
//	client, model, err := reuseopenai.GetClient("")
//
// GetClient is safe for concurrent use. Its clients live as long as the
// process.
func GetClient(model string) (*openai.Client, string, error) {
	c, err := defaultClients()
	if err != nil {
		return nil, "", err
	}
	return c.FromEnv(model)
}
