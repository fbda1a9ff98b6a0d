package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/reuse-go/reuse/internal/leaktest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// TestRun runs the example offline, as a newcomer would without a key, and
// checks what it prints and what it measured.
func TestRun(t *testing.T) {
	for _, v := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
		"OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES", "OPENAI_ADMIN_KEY", "OPENAI_WEBHOOK_SECRET", "OPENAI_CUSTOM_HEADERS"} {
		t.Setenv(v, "")
	}
	const calls, concurrency = 40, 8
	var out bytes.Buffer
	s, err := run(context.Background(), &out, calls, concurrency)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())
	for _, want := range []string{
		"No OPENAI_API_KEY set: using an in-process OpenAI-compatible server at http://127.0.0.1:",
		"reuse GetClient",
		"TCP connections opened",
		"1 client created",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if s.cached.requests != calls || s.perCall.requests != calls {
		t.Errorf("requests = %d and %d, want %d each", s.cached.requests, s.perCall.requests, calls)
	}
	if s.perCall.conns != calls {
		t.Errorf("a client per call opened %d connections, want one per call (%d)", s.perCall.conns, calls)
	}
	// Go's transport may dial while a finished connection is on its way back
	// to the pool, so allow some slack above the concurrency.
	if s.cached.conns < 1 || s.cached.conns > concurrency*3/2 {
		t.Errorf("GetClient opened %d connections for %d calls %d at a time, want at most %d",
			s.cached.conns, calls, concurrency, concurrency*3/2)
	}
	// The first calls of the burst may all miss and share the one load.
	if s.stats.Loads != 1 || s.stats.Hits+s.stats.Misses != calls || s.stats.Misses != s.stats.Shared+1 {
		t.Errorf("cache stats = %+v, want 1 load shared by every miss, and %d Gets", s.stats, calls)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	if _, err := run(context.Background(), new(bytes.Buffer), 0, 4); err == nil || !strings.Contains(err.Error(), "-calls") {
		t.Errorf("run with -calls 0 = %v, want an error naming -calls", err)
	}
}
