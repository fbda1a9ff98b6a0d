package openai_test

import (
	"log/slog"
	"testing"
	"time"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
)

func TestLogCreatedThenReused(t *testing.T) {
	rec := &recorder{level: slog.LevelDebug}
	c := newClients(t, &reuseopenai.Options{Logger: slog.New(rec)})
	cfg := reuseopenai.Config{APIKey: "sk-log", BaseURL: "http://localhost:9/v1", Organization: "org-log", Timeout: 90 * time.Second, MaxRetries: 2}
	for range 2 {
		if _, err := c.Get(cfg); err != nil {
			t.Fatal(err)
		}
	}
	recs := rec.records()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	want := map[string]string{
		"timeout": "1m30s", "max_retries": "2", "base_url": "http://localhost:9/v1",
		"api_key": fp(t, "sk-log"), "organization": "org-log",
	}
	for i, w := range []struct {
		level slog.Level
		msg   string
	}{{slog.LevelInfo, "openai: client created"}, {slog.LevelDebug, "openai: client reused"}} {
		r := recs[i]
		if r.Level != w.level || r.Message != w.msg {
			t.Errorf("record %d: %v %q, want %v %q", i, r.Level, r.Message, w.level, w.msg)
		}
		got := attrs(r)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("record %d: %s=%q, want %q", i, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("record %d: attributes %v, want %v", i, got, want)
		}
	}
}

// TestLogSecretAttrs checks the attributes, documented in the package doc,
// that describe the secrets of a Config from the environment.
func TestLogSecretAttrs(t *testing.T) {
	setEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk-log-env", "OPENAI_ADMIN_KEY": "sk-admin-log",
		"OPENAI_WEBHOOK_SECRET": "whsec-log", "OPENAI_CUSTOM_HEADERS": "X-A: 1\nX-B: 2",
	})
	rec := &recorder{level: slog.LevelInfo}
	c := newClients(t, &reuseopenai.Options{Logger: slog.New(rec)})
	if _, _, err := c.FromEnv(""); err != nil {
		t.Fatal(err)
	}
	recs := rec.records()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	got := attrs(recs[0])
	want := map[string]string{
		"base_url": "https://api.openai.com/v1", "timeout": "5m0s", "max_retries": "3",
		"api_key": fp(t, "sk-log-env"), "admin_key": fp(t, "sk-admin-log"),
		"webhook_secret": "true", "custom_headers": "[X-A X-B]",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
}

func TestLogInfoLevel(t *testing.T) {
	rec := &recorder{level: slog.LevelInfo}
	c := newClients(t, &reuseopenai.Options{Logger: slog.New(rec)})
	for _, key := range []string{"sk-1", "sk-1", "sk-2", "sk-1"} {
		if _, err := c.Get(reuseopenai.Config{APIKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	recs := rec.records()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: one per client created, none for reuses", len(recs))
	}
	for i, key := range []string{"sk-1", "sk-2"} {
		if recs[i].Message != "openai: client created" || attrs(recs[i])["api_key"] != fp(t, key) {
			t.Errorf("record %d = %q %v, want the creation of %s's client", i, recs[i].Message, attrs(recs[i]), key)
		}
	}
}

func TestLogDefaultLogger(t *testing.T) {
	rec := &recorder{level: slog.LevelInfo}
	old := slog.Default()
	slog.SetDefault(slog.New(rec))
	c, err := reuseopenai.New(nil)
	slog.SetDefault(old)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Get(reuseopenai.Config{APIKey: "sk"}); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.records()); n != 1 {
		t.Errorf("slog.Default() of New's time got %d records, want 1", n)
	}
}

// TestHitAllocs checks the promise that a reuse does not allocate when Debug
// is disabled, for Get and for FromEnv.
func TestHitAllocs(t *testing.T) {
	setEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk-allocs", "OPENAI_BASE_URL": "http://localhost:1/v1", "OPENAI_TIMEOUT": "2.5",
		"OPENAI_ADMIN_KEY": "sk-admin-allocs", "OPENAI_WEBHOOK_SECRET": "whsec-allocs", "OPENAI_CUSTOM_HEADERS": "X-A: 1",
	})
	c := newClients(t, &reuseopenai.Options{Logger: slog.New(&recorder{level: slog.LevelInfo})})
	// A BaseURL other than the default, which Get checks for a new Config
	// only.
	cfg := reuseopenai.Config{APIKey: "sk-allocs", BaseURL: "http://localhost:2/v1/", Timeout: time.Minute}
	if _, err := c.Get(cfg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.FromEnv(""); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { c.Get(cfg) }); n != 0 {
		t.Errorf("Get of a kept client: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { c.FromEnv("") }); n != 0 {
		t.Errorf("FromEnv of a kept client: %v allocs, want 0", n)
	}
	if s := c.Stats(); s.Loads != 2 || s.Misses != 2 || s.LoadErrors != 0 {
		t.Errorf("Stats = %+v, want 2 loads, 2 misses and only hits after them", s)
	}
}
