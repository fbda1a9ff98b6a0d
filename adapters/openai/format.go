package openai

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

// The methods below make a Clients show the same few counts, and nothing
// else, to every fmt verb, to encoding/json and to log/slog. Without them,
// fmt would print the fields of the cache behind a Clients with a verb such
// as %s, and with them every cached Config, API keys included, reading
// them while other goroutines change them.
//
// They have value receivers, so that a Clients value prints as a *Clients
// does; a Clients holds a single pointer, so that even where fmt cannot
// call them (a Clients in an unexported field of another struct), it
// prints an address and nothing behind it.

// String returns a summary such as "openai.Clients{clients:2 hits:5
// misses:2}": the number of clients kept, and the hits and misses of Stats.
func (c Clients) String() string { return c.p.summary().string("openai.Clients") }

// GoString returns the summary of String in the style of the %#v verb.
func (c Clients) GoString() string { return c.p.summary().goString("openai.Clients") }

// Format implements [fmt.Formatter]: %#v prints GoString, %q a quoted
// String, and every other verb String.
func (c Clients) Format(f fmt.State, verb rune) { c.p.summary().format(f, verb, "openai.Clients") }

// MarshalJSON encodes the summary of String as {"clients":2,"hits":5,"misses":2}.
func (c Clients) MarshalJSON() ([]byte, error) { return json.Marshal(c.p.summary()) }

// LogValue implements [slog.LogValuer]: the summary of String, as a group.
func (c Clients) LogValue() slog.Value { return c.p.summary().logValue() }

func (s summary) string(name string) string {
	return fmt.Sprintf("%s{clients:%d hits:%d misses:%d}", name, s.Clients, s.Hits, s.Misses)
}

func (s summary) goString(name string) string {
	return fmt.Sprintf("&%s{clients:%d, hits:%d, misses:%d}", name, s.Clients, s.Hits, s.Misses)
}

func (s summary) format(f fmt.State, verb rune, name string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.goString(name))
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(s.string(name)))
	default:
		fmt.Fprint(f, s.string(name))
	}
}

func (s summary) logValue() slog.Value {
	return slog.GroupValue(
		slog.Int("clients", s.Clients),
		slog.Uint64("hits", s.Hits),
		slog.Uint64("misses", s.Misses),
	)
}
