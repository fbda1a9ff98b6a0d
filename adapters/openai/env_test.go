package openai_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
)

func TestConfigFromEnv(t *testing.T) {
	setEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "http://localhost:8080/v1/",
		"OPENAI_ORG_ID": "org-1", "OPENAI_PROJECT_ID": "proj-1",
		"OPENAI_TIMEOUT": "45", "OPENAI_MAX_RETRIES": "0",
	})
	got, err := reuseopenai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := reuseopenai.Config{
		APIKey: "sk-env", BaseURL: "http://localhost:8080/v1",
		Organization: "org-1", Project: "proj-1",
		Timeout: 45 * time.Second, MaxRetries: 0,
	}
	if got != want {
		t.Errorf("ConfigFromEnv() = %#v, want %#v", got, want)
	}
}

func TestConfigFromEnvDefaults(t *testing.T) {
	setEnv(t, map[string]string{"OPENAI_API_KEY": "sk-env", "OPENAI_TIMEOUT": "", "OPENAI_MAX_RETRIES": ""})
	got, err := reuseopenai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := reuseopenai.Config{
		APIKey: "sk-env", BaseURL: "https://api.openai.com/v1",
		Timeout: reuseopenai.DefaultTimeout, MaxRetries: reuseopenai.DefaultMaxRetries,
	}
	if got != want {
		t.Errorf("ConfigFromEnv() = %v, want %v", got, want)
	}
	if reuseopenai.DefaultTimeout != 300*time.Second || reuseopenai.DefaultMaxRetries != 3 {
		t.Errorf("defaults = %v, %d; want 300s, 3", reuseopenai.DefaultTimeout, reuseopenai.DefaultMaxRetries)
	}
}

func TestConfigFromEnvTimeout(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"1", time.Second},
		{"2.5", 2500 * time.Millisecond},
		{"0.2", 200 * time.Millisecond},
		{" 30 ", 30 * time.Second},
		{"1e2", 100 * time.Second},
		{"90s", 90 * time.Second},
		{"2m", 2 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"0.000000001", time.Nanosecond},
	}
	for _, tt := range tests {
		setEnv(t, map[string]string{"OPENAI_API_KEY": "k", "OPENAI_TIMEOUT": tt.value})
		cfg, err := reuseopenai.ConfigFromEnv()
		if err != nil {
			t.Errorf("OPENAI_TIMEOUT=%q: %v", tt.value, err)
			continue
		}
		if cfg.Timeout != tt.want {
			t.Errorf("OPENAI_TIMEOUT=%q: Timeout = %v, want %v", tt.value, cfg.Timeout, tt.want)
		}
	}
}

func TestConfigFromEnvMaxRetries(t *testing.T) {
	for value, want := range map[string]int{"0": 0, "1": 1, "10": 10, " 2 ": 2} {
		setEnv(t, map[string]string{"OPENAI_API_KEY": "k", "OPENAI_MAX_RETRIES": value})
		cfg, err := reuseopenai.ConfigFromEnv()
		if err != nil {
			t.Errorf("OPENAI_MAX_RETRIES=%q: %v", value, err)
			continue
		}
		if cfg.MaxRetries != want {
			t.Errorf("OPENAI_MAX_RETRIES=%q: MaxRetries = %d, want %d", value, cfg.MaxRetries, want)
		}
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // the whole message
	}{
		{"OPENAI_TIMEOUT", "abc", `openai: OPENAI_TIMEOUT: "abc" is not a number of seconds or a Go duration`},
		{"OPENAI_TIMEOUT", "10 s", `openai: OPENAI_TIMEOUT: "10 s" is not a number of seconds or a Go duration`},
		{"OPENAI_TIMEOUT", "0", `openai: OPENAI_TIMEOUT: "0" is not a positive number of seconds`},
		{"OPENAI_TIMEOUT", "-1", `openai: OPENAI_TIMEOUT: "-1" is not a positive number of seconds`},
		{"OPENAI_TIMEOUT", "NaN", `openai: OPENAI_TIMEOUT: "NaN" is not a positive number of seconds`},
		{"OPENAI_TIMEOUT", "-Inf", `openai: OPENAI_TIMEOUT: "-Inf" is not a positive number of seconds`},
		{"OPENAI_TIMEOUT", "Inf", `openai: OPENAI_TIMEOUT: "Inf" is too long: the limit is 9223372036 seconds`},
		{"OPENAI_TIMEOUT", "1e400", `openai: OPENAI_TIMEOUT: "1e400" is too long: the limit is 9223372036 seconds`},
		{"OPENAI_TIMEOUT", "1e10", `openai: OPENAI_TIMEOUT: "1e10" is too long: the limit is 9223372036 seconds`},
		{"OPENAI_TIMEOUT", "1e-12", `openai: OPENAI_TIMEOUT: "1e-12" is shorter than a nanosecond`},
		{"OPENAI_TIMEOUT", "0s", `openai: OPENAI_TIMEOUT: "0s" is not positive`},
		{"OPENAI_TIMEOUT", "-5s", `openai: OPENAI_TIMEOUT: "-5s" is not positive`},
		{"OPENAI_MAX_RETRIES", "many", `openai: OPENAI_MAX_RETRIES: "many" is not an integer`},
		{"OPENAI_MAX_RETRIES", "1.5", `openai: OPENAI_MAX_RETRIES: "1.5" is not an integer`},
		{"OPENAI_MAX_RETRIES", "99999999999999999999", `openai: OPENAI_MAX_RETRIES: "99999999999999999999" is not an integer`},
		{"OPENAI_MAX_RETRIES", "-1", `openai: OPENAI_MAX_RETRIES: "-1" is negative`},
		{"OPENAI_BASE_URL", "localhost:8080", `openai: OPENAI_BASE_URL: "localhost:8080" is not an absolute http or https URL`},
		{"OPENAI_BASE_URL", "ftp://example.com", `openai: OPENAI_BASE_URL: "ftp://example.com" is not an absolute http or https URL`},
		{"OPENAI_BASE_URL", "https://user:hunter2@[::1", `openai: OPENAI_BASE_URL: not a valid URL`},
		{"OPENAI_BASE_URL", "/v1", `openai: OPENAI_BASE_URL: "/v1" is not an absolute http or https URL`},
	}
	for _, tt := range tests {
		setEnv(t, map[string]string{"OPENAI_API_KEY": "k", tt.name: tt.value})
		cfg, err := reuseopenai.ConfigFromEnv()
		if err == nil {
			t.Errorf("%s=%q: no error, Config %v", tt.name, tt.value, cfg)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s=%q: error %q, want %q", tt.name, tt.value, err, tt.want)
		}
		var envErr *reuseopenai.EnvError
		if !errors.As(err, &envErr) || envErr.Var != tt.name {
			t.Errorf("%s=%q: error %#v is not an *EnvError for %s", tt.name, tt.value, err, tt.name)
		}
		if cfg != (reuseopenai.Config{}) {
			t.Errorf("%s=%q: Config %v with the error, want the zero Config", tt.name, tt.value, cfg)
		}
	}
}

func TestConfigFromEnvNoAPIKey(t *testing.T) {
	for _, env := range []map[string]string{{}, {"OPENAI_API_KEY": ""}} {
		setEnv(t, env)
		_, err := reuseopenai.ConfigFromEnv()
		if !errors.Is(err, reuseopenai.ErrNoAPIKey) {
			t.Errorf("env %v: err = %v, want ErrNoAPIKey", env, err)
		}
		if want := "openai: OPENAI_API_KEY: missing API key"; err == nil || err.Error() != want {
			t.Errorf("env %v: err = %v, want %q", env, err, want)
		}
		var envErr *reuseopenai.EnvError
		if !errors.As(err, &envErr) || envErr.Var != "OPENAI_API_KEY" {
			t.Errorf("env %v: err = %#v, want an *EnvError for OPENAI_API_KEY", env, err)
		}
	}
}

func TestConfigFromEnvSeveralErrors(t *testing.T) {
	setEnv(t, map[string]string{"OPENAI_TIMEOUT": "soon", "OPENAI_MAX_RETRIES": "-2"})
	_, err := reuseopenai.ConfigFromEnv()
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"OPENAI_API_KEY", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES"} {
		if !strings.Contains(err.Error(), "openai: "+name+": ") {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

// TestFromEnvReadsChanges checks that FromEnv, which keeps its last parse,
// sees every change, and reports a value that turned bad.
func TestFromEnvReadsChanges(t *testing.T) {
	srv := newServer(t)
	c := newClients(t, nil)
	setEnv(t, map[string]string{"OPENAI_API_KEY": "sk-old", "OPENAI_BASE_URL": srv.URL})
	old, _, err := c.FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPENAI_API_KEY", "sk-new")
	rotated, _, err := c.FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	if rotated == old {
		t.Fatal("FromEnv after a key rotation returned the old client")
	}
	chat(t, rotated, "hi")
	if got := srv.LastHeader().Get("Authorization"); got != "Bearer sk-new" {
		t.Errorf("Authorization = %q, want Bearer sk-new", got)
	}
	t.Setenv("OPENAI_TIMEOUT", "later")
	if _, _, err := c.FromEnv(""); err == nil {
		t.Error("FromEnv with OPENAI_TIMEOUT=later: no error")
	}
	t.Setenv("OPENAI_TIMEOUT", "")
	if again, _, err := c.FromEnv(""); err != nil || again != rotated {
		t.Errorf("FromEnv after the fix = %p, %v; want the rotated client", again, err)
	}
}
