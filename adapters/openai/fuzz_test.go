package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	reuseopenai "github.com/reuse-go/reuse/adapters/openai"
)

// marker starts every secret that FuzzEnv sets, so that finding it in any
// output means a leak, whatever the fuzzer appends.
const marker = "zQ7secret"

// FuzzEnv sets every variable that ConfigFromEnv and AzureConfigFromEnv
// read, and checks what they and a client built from their Config do: an
// error is one *EnvError per bad variable and repeats no secret; a Config
// gives a client, without network, that sends exactly what the Config says
// and what its log shows; and no output shows a secret. The seeds run as a
// normal test; `go test -fuzz FuzzEnv` explores further.
func FuzzEnv(f *testing.F) {
	f.Add("key", "", "", "", "", "", "", "", "", "https://res.openai.azure.com", "key", "2024-10-21")
	f.Add("key\r\n", "http://u:pw@127.0.0.1:9/v1 ", "org\n", "proj", "1_000", "11", "adm", "wh", "X-A: 1\r\nAuthorization: x", "http://res.example", "k\n", "")
	f.Add("key", "https://gw.example/v1?key=s", "org", "proj", "0x1p-2", "+1", "", "", ": v\nX-B: 2", "https://u:p@res", "", "a b")
	f.Add("key", "http://user:12/secret@host/v1", "", "", "90s", "10", "adm", "", "X-C:\tv\t\n\nX D: 1", "https://res:99999", "k", "v1")
	f.Add("key", "sk-pasted", "o", "p", "2.5", "0", "", "", "OpenAI-Organization: org-B", "sk-pasted", "k", "2025-04-01-preview")
	f.Add("key", "https://gw.example:8443/v1/", "", "", "1e2", "3", "", "", "X-Ok: yes", "https://res.example:443/", "k ", "1")
	f.Add("key", " https://u:pw@gw.example/v1/ ", "org-1", "proj-1", " 2.5 ", " 2 ", "adm", "wh", "X-A: 1\r\n\r\nX-A: 2\nX-B:\tb", "http://localhost:1", "k", "2024-10-21")
	f.Fuzz(func(t *testing.T, key, base, org, project, timeout, retries, admin, webhook, headers, azEndpoint, azKey, apiVersion string) {
		env := map[string]string{
			"OPENAI_API_KEY": marker + key, "OPENAI_BASE_URL": base, "OPENAI_ORG_ID": org,
			"OPENAI_PROJECT_ID": project, "OPENAI_TIMEOUT": timeout, "OPENAI_MAX_RETRIES": retries,
			"OPENAI_ADMIN_KEY": admin, "OPENAI_WEBHOOK_SECRET": webhook, "OPENAI_CUSTOM_HEADERS": headers,
			"AZURE_OPENAI_ENDPOINT": azEndpoint, "AZURE_OPENAI_API_KEY": marker + azKey, "OPENAI_API_VERSION": apiVersion,
		}
		if admin != "" {
			env["OPENAI_ADMIN_KEY"] = marker + admin
		}
		if webhook != "" {
			env["OPENAI_WEBHOOK_SECRET"] = marker + webhook
		}
		for _, v := range env {
			if strings.ContainsRune(v, 0) {
				t.Skip("an environment variable cannot hold NUL")
			}
		}
		setEnv(t, env)
		setAzureEnv(t, env)
		logger, logs := logBuffers()
		rt := &capture{}
		opts := &reuseopenai.Options{Logger: logger, HTTPClient: &http.Client{Transport: rt}, MaxClients: 1}

		cfg, err := reuseopenai.ConfigFromEnv()
		if err != nil {
			checkEnvError(t, err)
		} else {
			c := newClients(t, opts)
			client, _, err := c.FromEnv("")
			if err != nil {
				t.Fatalf("FromEnv of a Config that ConfigFromEnv accepted: %v", err)
			}
			if _, err := client.Models.List(context.Background()); err != nil {
				t.Fatalf("request: %v", err)
			}
			checkSent(t, cfg, rt.last(), strings.Split(strings.ReplaceAll(headers, "\r", ""), "\n"))
			checkShown(t, "Config", cfg)
			checkShown(t, "Configs()", c.Configs())
		}

		az, err := reuseopenai.AzureConfigFromEnv()
		if err != nil {
			checkEnvError(t, err)
		} else {
			checkShown(t, "AzureConfig", az)
			c, err := reuseopenai.NewAzure(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Get(az); err != nil {
				t.Fatalf("Get of an AzureConfig that AzureConfigFromEnv accepted: %v", err)
			}
			checkShown(t, "AzureClients.Configs()", c.Configs())
		}
		if strings.Contains(logs.String(), marker) {
			t.Errorf("the log shows a secret: %s", logs.String())
		}
	})
}

// checkEnvError checks that err joins *EnvErrors only, and shows no secret.
func checkEnvError(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var envErr *reuseopenai.EnvError
		if !errors.As(e, &envErr) || envErr.Var == "" {
			t.Errorf("error %v is not an *EnvError", e)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(s, marker) {
		t.Errorf("error shows a secret: %s", s)
	}
}

// checkShown checks that v shows no secret to fmt, JSON or slog.
func checkShown(t *testing.T, what string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v), string(b)} {
		if strings.Contains(s, marker) {
			t.Errorf("%s shows a secret: %s", what, s)
		}
	}
}

// checkSent checks that req carries what cfg says, and only that: the key,
// the organization and project, the custom headers, and the base URL.
func checkSent(t *testing.T, cfg reuseopenai.Config, req *http.Request, headerLines []string) {
	t.Helper()
	if req == nil {
		t.Fatal("no request sent")
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+cfg.APIKey && !strings.HasPrefix(got, "Bearer "+marker) {
		t.Errorf("Authorization %q is not the Config's key", got)
	}
	for name, want := range map[string]string{"OpenAI-Organization": cfg.Organization, "OpenAI-Project": cfg.Project} {
		if got := req.Header.Values(name); (want == "" && len(got) > 0) || (want != "" && !slices.Equal(got, []string{want})) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	want := map[string]string{} // the last value of each name wins
	for _, line := range headerLines {
		name, value, ok := strings.Cut(line, ":")
		if name = strings.TrimSpace(name); ok && name != "" {
			want[http.CanonicalHeaderKey(name)] = strings.TrimSpace(value)
		}
	}
	for name, value := range want {
		if got := req.Header.Get(name); got != value && name != "X-Stainless-Timeout" && name != "X-Stainless-Retry-Count" {
			t.Errorf("custom header %s = %q, want %q", name, got, value)
		}
	}
	base, _ := url.Parse(cfg.BaseURL)
	if req.URL.Host != base.Host || req.URL.User != nil || !strings.HasPrefix(req.URL.Path, strings.TrimSuffix(base.Path, "/")+"/") {
		t.Errorf("request URL %s, want one below the Config's %s without user info", req.URL.Redacted(), cfg)
	}
}

// capture is an http.RoundTripper that keeps the last request it is given
// and answers an empty list, without network.
type capture struct {
	mu  sync.Mutex
	req *http.Request
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.req = r
	c.mu.Unlock()
	return jsonResponse(r, `{"object":"list","data":[]}`), nil
}

func (c *capture) last() *http.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.req
}
