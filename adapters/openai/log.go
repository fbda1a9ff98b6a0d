package openai

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/reuse-go/reuse/keyedcache"
)

// The messages of the log records that Clients writes.
const (
	msgCreated = "openai: client created" // Info
	msgReused  = "openai: client reused"  // Debug
	msgRemoved = "openai: client removed" // Debug
)

// createdKey is the context key of the flag with which a Get learns that
// its own call created the client, so that it does not log a reuse.
type createdKey struct{}

// withCreatedFlag returns a context that carries a fresh flag for
// markCreated, and the flag.
func withCreatedFlag(ctx context.Context) (context.Context, *atomic.Bool) {
	created := new(atomic.Bool)
	return context.WithValue(ctx, createdKey{}, created), created
}

// markCreated sets the flag of withCreatedFlag, if ctx carries one.
func markCreated(ctx context.Context) {
	if created, ok := ctx.Value(createdKey{}).(*atomic.Bool); ok {
		created.Store(true)
	}
}

func (p *pool[K]) logCreated(ctx context.Context, e *entry) {
	p.logger.LogAttrs(ctx, slog.LevelInfo, msgCreated, e.attrs...)
}

func (p *pool[K]) logReused(ctx context.Context, e *entry) {
	p.logger.LogAttrs(ctx, slog.LevelDebug, msgReused, e.attrs...)
}

// logRemoved is the OnEvict callback of the cache.
func (p *pool[K]) logRemoved(_ K, e *entry, why keyedcache.Reason) {
	ctx := context.Background()
	if !p.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, len(e.attrs)+1)
	attrs = append(append(attrs, e.attrs...), slog.String("reason", why.String()))
	p.logger.LogAttrs(ctx, slog.LevelDebug, msgRemoved, attrs...)
}
