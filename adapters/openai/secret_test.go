package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
)

// The canaries are secrets that must not leak. Each is unique enough that
// finding one in some output can only mean a leak.
const (
	canaryKey      = "sk-canary-0d4f1c2e9a7b4be1"
	canaryAdminKey = "sk-admin-canary-7e3a99f02c41"
	canaryWebhook  = "whsec_canary_5b1e6f0a8d23"
	canaryHeader   = "canary-header-value-4a9d"
	canaryPassword = "canary-password-c81f"
)

var canaries = []string{canaryKey, canaryAdminKey, canaryWebhook, canaryHeader, canaryPassword}

// canaryEnv returns an environment with every secret set to a canary.
func canaryEnv(baseURL string) map[string]string {
	return map[string]string{
		"OPENAI_API_KEY":        canaryKey,
		"OPENAI_ADMIN_KEY":      canaryAdminKey,
		"OPENAI_WEBHOOK_SECRET": canaryWebhook,
		"OPENAI_CUSTOM_HEADERS": "X-Secret: " + canaryHeader,
		"OPENAI_BASE_URL":       baseURL,
		"OPENAI_ORG_ID":         "org-visible",
	}
}

// checkNoCanary fails the test if s holds any part of a canary longer than
// a few characters, or if it lacks one of the wants.
func checkNoCanary(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	checkNoSecret(t, what, s, canaries, wants...)
}

// checkNoSecret fails the test if s holds either half of any of secrets, or
// if it lacks one of the wants.
func checkNoSecret(t *testing.T, what, s string, secrets []string, wants ...string) {
	t.Helper()
	for _, c := range secrets {
		for _, part := range []string{c, c[:len(c)/2], c[len(c)/2:]} {
			if strings.Contains(s, part) {
				t.Errorf("%s leaks %q: %s", what, part, s)
			}
		}
	}
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s = %s, want it to contain %q", what, s, w)
		}
	}
}

func TestCanary(t *testing.T) {
	srv := newServer(t)
	setEnv(t, canaryEnv("http://user:"+canaryPassword+"@"+strings.TrimPrefix(srv.URL, "http://")))
	cfg, err := reuseopenai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIKey != canaryKey {
		t.Fatalf("ConfigFromEnv().APIKey = %q, want the canary", cfg.APIKey)
	}
	keyFP := fp(t, canaryKey)
	if !strings.HasPrefix(keyFP, "hmac:") || len(keyFP) != len("hmac:")+8 {
		t.Errorf("fingerprint %q, want hmac: and 8 hex digits", keyFP)
	}

	t.Run("fmt", func(t *testing.T) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10.3v", "%T %v"} {
			for _, arg := range []any{cfg, &cfg, []reuseopenai.Config{cfg}, map[string]reuseopenai.Config{"k": cfg}, struct{ C reuseopenai.Config }{cfg}} {
				s := fmt.Sprintf(verb, arg)
				if verb == "%T %v" {
					s = fmt.Sprintf(verb, arg, arg)
				}
				checkNoCanary(t, fmt.Sprintf("Sprintf(%q, %T)", verb, arg), s)
			}
		}
		checkNoCanary(t, "String()", cfg.String(), keyFP, "org-visible", "AdminKey:hmac:", "WebhookSecret:set", "CustomHeaders:[X-Secret]", "//xxxxx@")
		checkNoCanary(t, "GoString()", cfg.GoString(), `APIKey:"`+keyFP+`"`)
		checkNoCanary(t, "fmt.Sprint", fmt.Sprint(cfg), keyFP)
		checkNoCanary(t, "fmt.Sprintln", fmt.Sprintln(cfg, &cfg), keyFP)
	})

	// fmt prints a Config's raw fields without asking it in two cases: %p
	// of a Config value, which is a bad verb, and a Config in an unexported
	// field. The docs name both limits; there, only the exported APIKey and
	// BaseURL show, and the other secrets print as an address.
	t.Run("fmt limits", func(t *testing.T) {
		for _, arg := range []any{&cfg, []reuseopenai.Config{cfg}, map[string]reuseopenai.Config{"k": cfg}} {
			s := fmt.Sprintf("%p", arg)
			checkNoCanary(t, fmt.Sprintf("Sprintf(%%p, %T)", arg), s, "0x")
		}
		hidden := []string{canaryAdminKey, canaryWebhook, canaryHeader}
		for _, tt := range []struct {
			verb string
			arg  any
		}{
			{"%p", cfg},
			{"%p", struct{ C reuseopenai.Config }{cfg}},
			{"%v", struct{ c reuseopenai.Config }{cfg}},
			{"%+v", struct{ c reuseopenai.Config }{cfg}},
			{"%#v", struct{ c reuseopenai.Config }{cfg}},
		} {
			what := fmt.Sprintf("Sprintf(%q, %T)", tt.verb, tt.arg)
			s := fmt.Sprintf(tt.verb, tt.arg)
			checkNoSecret(t, what, s, hidden)
			if !strings.Contains(s, canaryKey) {
				t.Errorf("%s = %s: fmt no longer prints the raw APIKey here; update the documented limit", what, s)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		for _, arg := range []any{cfg, &cfg, []reuseopenai.Config{cfg}, struct{ C reuseopenai.Config }{cfg}} {
			b, err := json.Marshal(arg)
			if err != nil {
				t.Fatal(err)
			}
			checkNoCanary(t, fmt.Sprintf("json.Marshal(%T)", arg), string(b), `"api_key":"`+keyFP+`"`)
		}
		var m map[string]any
		b, _ := json.Marshal(cfg)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["timeout"] != "5m0s" || m["max_retries"] != 3.0 || m["organization"] != "org-visible" || m["webhook_secret"] != true {
			t.Errorf("JSON = %s, want timeout 5m0s, max_retries 3, organization, webhook_secret true", b)
		}
	})

	t.Run("slog", func(t *testing.T) {
		logger, buf := logBuffers()
		logger.Info("config", "cfg", cfg, "ptr", &cfg)
		logger.Info("group", slog.Any("cfgs", []reuseopenai.Config{cfg}))
		checkNoCanary(t, "slog output", buf.String(), "cfg.api_key="+keyFP, `"api_key":"`+keyFP+`"`)
	})

	t.Run("log", func(t *testing.T) {
		var sb strings.Builder
		l := log.New(&sb, "", 0)
		l.Printf("%v %+v %#v", cfg, cfg, cfg)
		l.Println(cfg)
		checkNoCanary(t, "log output", sb.String(), keyFP)
	})

	t.Run("Clients", func(t *testing.T) {
		logger, buf := logBuffers()
		c := newClients(t, &reuseopenai.Options{Logger: logger, MaxClients: 1})
		client, _, err := c.FromEnv("")
		if err != nil {
			t.Fatal(err)
		}
		chat(t, client, "hi")
		if got := srv.LastHeader().Get("Authorization"); got != "Bearer "+canaryKey {
			t.Errorf("Authorization = %q: the client does not send the key", got)
		}
		if got := srv.LastHeader().Get("X-Secret"); got != canaryHeader {
			t.Errorf("X-Secret = %q: the client does not send the custom header", got)
		}
		if _, _, err := c.FromEnv(""); err != nil { // a reuse, logged at Debug
			t.Fatal(err)
		}
		if _, err := c.Get(reuseopenai.Config{APIKey: canaryKey + "-2"}); err != nil { // evicts
			t.Fatal(err)
		}
		checkNoCanary(t, "Configs()", fmt.Sprintf("%v %+v %#v %s", c.Configs(), c.Configs(), c.Configs(), c.Configs()))
		b, _ := json.Marshal(c.Configs())
		checkNoCanary(t, "JSON of Configs()", string(b))
		for _, listed := range c.Configs() {
			if listed.APIKey != "" {
				t.Errorf("Configs() holds an APIKey")
			}
		}
		checkNoCanary(t, "Stats()", fmt.Sprintf("%v %+v %#v", c.Stats(), c.Stats(), c.Stats()))
		c.Clear()
		c.Close()
		checkNoCanary(t, "Clients' log", buf.String(),
			"openai: client created", "openai: client reused", "openai: client removed", "api_key="+keyFP)
	})

	t.Run("errors", func(t *testing.T) {
		c := newClients(t, nil)
		var errs []error
		for _, cfg := range []reuseopenai.Config{
			{APIKey: canaryKey, Timeout: -time.Second},
			{APIKey: canaryKey, MaxRetries: -1},
			{APIKey: canaryKey, BaseURL: "http://u:" + canaryPassword + "@[::1"},
			{APIKey: canaryKey, BaseURL: "ftp://u:" + canaryPassword + "@host"},
		} {
			_, err := c.Get(cfg)
			errs = append(errs, err)
		}
		for _, bad := range []map[string]string{
			{"OPENAI_TIMEOUT": "x"}, {"OPENAI_MAX_RETRIES": "x"},
			{"OPENAI_BASE_URL": "ftp://u:" + canaryPassword + "@host"},
			{"OPENAI_BASE_URL": "http://u:" + canaryPassword + "@[::1"},
		} {
			env := canaryEnv(srv.URL)
			for k, v := range bad {
				env[k] = v
			}
			setEnv(t, env)
			_, _, err := c.FromEnv("")
			errs = append(errs, err)
		}
		// The errors of calls: a timed-out attempt (from the attempt
		// middleware) and a refused request, through a URL with a password.
		timed, err := c.Get(reuseopenai.Config{APIKey: canaryKey, BaseURL: "http://u:" + canaryPassword + "@" + strings.TrimPrefix(srv.URL, "http://"), Timeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		srv.SetDelay(time.Second)
		_, err = timed.Chat.Completions.New(context.Background(), params("hi"))
		errs = append(errs, err)
		srv.SetDelay(0)
		srv.SetStatus(http.StatusUnauthorized)
		_, err = timed.Chat.Completions.New(context.Background(), params("hi"))
		errs = append(errs, err)
		srv.SetStatus(0)
		c.Close()
		_, err = c.Get(reuseopenai.Config{APIKey: canaryKey})
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				t.Errorf("case %d: no error", i)
				continue
			}
			checkNoCanary(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err))
			for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
				checkNoCanary(t, "wrapped error", fmt.Sprintf("%v %#v", u, u))
			}
		}
	})

}
