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
		"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": " http://localhost:8080/v1/ \n",
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
		{".5", 500 * time.Millisecond},
		{"5.", 5 * time.Second},
		{"007", 7 * time.Second},
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
	for value, want := range map[string]int{"0": 0, "1": 1, "10": 10, " 2 ": 2, "007": 7} {
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

// TestConfigFromEnvErrors checks the error of each kind of bad value: its
// whole message, which names the variable and never repeats the value.
func TestConfigFromEnvErrors(t *testing.T) {
	const (
		notTimeout = `not a number of seconds (such as "30" or "2.5") or a Go duration (such as "90s")`
		notRetries = "not a whole number from 0 to 10"
		tooMany    = "more than 10, the most retries this package allows (MaxRetriesLimit)"
		notURL     = "not an absolute http or https URL"
		lineBreak  = "ends with a line break (CR or LF), which cannot go into a header; remove the line ending where the value is stored"
		control    = "has a control character (such as CR, LF or tab), which cannot go into a header"
	)
	tests := []struct {
		name, value string
		want        string // the message after "openai: name: "
	}{
		{"OPENAI_TIMEOUT", "abc", notTimeout},
		{"OPENAI_TIMEOUT", "10 s", notTimeout},
		{"OPENAI_TIMEOUT", "0", "not positive (the shortest timeout is 1ns)"},
		{"OPENAI_TIMEOUT", "0.0000000001", "not positive (the shortest timeout is 1ns)"},
		{"OPENAI_TIMEOUT", "0s", "not positive (the shortest timeout is 1ns)"},
		{"OPENAI_TIMEOUT", "-5s", "not positive (the shortest timeout is 1ns)"},
		{"OPENAI_TIMEOUT", "99999999999", "too long: the longest timeout is 2562047h47m16.854775807s"},
		// Defect 10: ParseFloat's notations are not plain decimals.
		{"OPENAI_TIMEOUT", "1_000", notTimeout},
		{"OPENAI_TIMEOUT", "0x1p-2", notTimeout},
		{"OPENAI_TIMEOUT", "1e2", notTimeout},
		{"OPENAI_TIMEOUT", "-1", notTimeout},
		{"OPENAI_TIMEOUT", "+5", notTimeout},
		{"OPENAI_TIMEOUT", "1.2.3", notTimeout},
		{"OPENAI_TIMEOUT", ".", notTimeout},
		{"OPENAI_TIMEOUT", "NaN", notTimeout},
		{"OPENAI_TIMEOUT", "Inf", notTimeout},
		{"OPENAI_MAX_RETRIES", "many", notRetries},
		{"OPENAI_MAX_RETRIES", "1.5", notRetries},
		{"OPENAI_MAX_RETRIES", "-1", notRetries},
		{"OPENAI_MAX_RETRIES", "+2", notRetries},
		{"OPENAI_MAX_RETRIES", "1_0", notRetries},
		{"OPENAI_MAX_RETRIES", "11", tooMany},
		{"OPENAI_MAX_RETRIES", "1000", tooMany},
		{"OPENAI_MAX_RETRIES", "99999999999999999999", tooMany},
		{"OPENAI_BASE_URL", "localhost:8080", notURL},
		{"OPENAI_BASE_URL", "ftp://example.com", notURL},
		{"OPENAI_BASE_URL", "/v1", notURL},
		{"OPENAI_BASE_URL", "https://user:hunter2@[::1", "not a valid URL"},
		// Defect 5: a password in an opaque URL, a key in the wrong place.
		{"OPENAI_BASE_URL", "http:user:hunter2@host", notURL},
		{"OPENAI_BASE_URL", "sk-proj-pasted-here", notURL},
		{"OPENAI_BASE_URL", "http://user:12/secret@host/v1", `has an "@" in its path; percent-encode any "/" or "@" in a user name or password`},
		// Defect 6: openai-go drops a query and a fragment.
		{"OPENAI_BASE_URL", "https://gw.example/v1?api-version=1", "has a query, which openai-go would drop; pass query parameters with option.WithQuery"},
		{"OPENAI_BASE_URL", "https://gw.example/v1?", "has a query, which openai-go would drop; pass query parameters with option.WithQuery"},
		{"OPENAI_BASE_URL", "https://gw.example/v1#frag", "has a fragment (#...), which openai-go would drop"},
		// Defect 10: the port.
		{"OPENAI_BASE_URL", "http://localhost:99999/v1", "has a port that is not a number from 1 to 65535"},
		{"OPENAI_BASE_URL", "http://localhost:0/v1", "has a port that is not a number from 1 to 65535"},
		// Defect 3: values that cannot go into a header.
		{"OPENAI_API_KEY", "sk-from-a-file\r\n", lineBreak},
		{"OPENAI_API_KEY", "sk-from-a-file\n", lineBreak},
		{"OPENAI_API_KEY", "sk-two\nlines", control},
		{"OPENAI_API_KEY", "sk-tab\tinside", control},
		{"OPENAI_API_KEY", " sk-spaced", "has white space at its start or end, which a header cannot keep"},
		{"OPENAI_ORG_ID", "org-1\nX-Injected: 1", control},
		{"OPENAI_PROJECT_ID", "proj-1\r", lineBreak},
		{"OPENAI_ADMIN_KEY", "sk-admin\r\n", lineBreak},
		{"OPENAI_CUSTOM_HEADERS", "X-A: 1\nno colon here", `line 2 is not a "Name: value" header`},
		{"OPENAI_CUSTOM_HEADERS", ": no name", "line 1: the header name is empty or not a valid token (letters, digits and !#$%&'*+-.^_`|~)"},
		{"OPENAI_CUSTOM_HEADERS", "X Bad: v", "line 1: the header name is empty or not a valid token (letters, digits and !#$%&'*+-.^_`|~)"},
		{"OPENAI_CUSTOM_HEADERS", "X-A: a\x01b", "line 1: the value of X-A has a control character, which cannot go into a header"},
		{"OPENAI_CUSTOM_HEADERS", "X-A: a\rb", "line 1: the value of X-A has a control character, which cannot go into a header"},
		// Defect 9: what is sent in these is what is logged.
		{"OPENAI_CUSTOM_HEADERS", "Authorization: Bearer sk-sent", "line 1 sets Authorization, which only OPENAI_API_KEY (or OPENAI_ADMIN_KEY) may set"},
		{"OPENAI_CUSTOM_HEADERS", "X-A: 1\r\nOpenAI-Organization: org-B", "line 2 sets OpenAI-Organization, which only OPENAI_ORG_ID may set"},
		{"OPENAI_CUSTOM_HEADERS", "openai-project: p", "line 1 sets OpenAI-Project, which only OPENAI_PROJECT_ID may set"},
		{"OPENAI_CUSTOM_HEADERS", "API-KEY: k", "line 1 sets api-key, which only AZURE_OPENAI_API_KEY may set"},
	}
	for _, tt := range tests {
		env := map[string]string{"OPENAI_API_KEY": "k"}
		env[tt.name] = tt.value
		setEnv(t, env)
		cfg, err := reuseopenai.ConfigFromEnv()
		if err == nil {
			t.Errorf("%s=%q: no error, Config %v", tt.name, tt.value, cfg)
			continue
		}
		if want := "openai: " + tt.name + ": " + tt.want; err.Error() != want {
			t.Errorf("%s=%q: error %q, want %q", tt.name, tt.value, err, want)
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

// TestConfigFromEnvCustomHeaders checks the custom headers that are
// accepted: blank lines, CRLF line endings and tabs in values.
func TestConfigFromEnvCustomHeaders(t *testing.T) {
	srv := newServer(t)
	setEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": srv.URL,
		"OPENAI_CUSTOM_HEADERS": "X-A: 1\r\n\r\n  \nX-B:\tsp ace\t\r\nX-C:",
	})
	client, _, err := newClients(t, nil).FromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	chat(t, client, "hi")
	h := srv.LastHeader()
	for name, want := range map[string]string{"X-A": "1", "X-B": "sp ace"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
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
