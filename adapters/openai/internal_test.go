package openai

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unique"
)

func TestTunedTransport(t *testing.T) {
	for _, tt := range []struct{ opt, want, wantAll int }{
		{0, 100, 400},
		{7, 7, 28},
		{500, 500, 2000},
		{math.MaxInt / 4, math.MaxInt / 4, math.MaxInt / 4 * 4},
		{math.MaxInt/4 + 1, math.MaxInt/4 + 1, math.MaxInt}, // 4× would overflow
		{math.MaxInt, math.MaxInt, math.MaxInt},
	} {
		c, err := New(&Options{MaxIdleConnsPerHost: tt.opt})
		if err != nil {
			t.Fatal(err)
		}
		tr := c.p.transport
		if tr == nil || c.p.httpClient.Transport != tr {
			t.Fatalf("MaxIdleConnsPerHost %d: the http.Client does not use the tuned transport", tt.opt)
		}
		if tr.MaxIdleConnsPerHost != tt.want || tr.MaxIdleConns != tt.wantAll ||
			tr.IdleConnTimeout != 90*time.Second || !tr.ForceAttemptHTTP2 || tr.Proxy == nil {
			t.Errorf("MaxIdleConnsPerHost %d: transport {perHost %d, all %d, idle %v, h2 %v, proxy %v}, want {%d, %d, 90s, true, set}",
				tt.opt, tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tr.IdleConnTimeout, tr.ForceAttemptHTTP2, tr.Proxy != nil, tt.want, tt.wantAll)
		}
		c.Close()
	}
}

// TestSecretsInterned checks that the secrets of a Config compare by value:
// the same settings give equal Configs, whatever the strings' memory, and
// any other value of any secret gives a different Config.
func TestSecretsInterned(t *testing.T) {
	raw := envValues{0: "sk", 6: "sk-admin", 7: "whsec", 8: "X-A: 1"}
	cfg, err := parseEnv(&raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := (secrets{adminKey: "sk-admin", webhookSecret: "whsec", headers: "X-A: 1"}); cfg.secretValues() != want {
		t.Errorf("secrets = %+v, want %+v", cfg.secretValues(), want)
	}
	again := raw
	for i := range again {
		again[i] = strings.Clone(again[i])
	}
	if cfg2, _ := parseEnv(&again); cfg2 != cfg || cfg2.secrets != cfg.secrets {
		t.Error("two parses of equal values gave different Configs")
	}
	for _, i := range []int{6, 7, 8} {
		changed := raw
		changed[i] += "2"
		if other, _ := parseEnv(&changed); other == cfg {
			t.Errorf("%s changed: the Config is equal to the first", envNames[i])
		}
		changed[i] = ""
		if other, _ := parseEnv(&changed); other == cfg {
			t.Errorf("%s unset: the Config is equal to the first", envNames[i])
		}
	}
	none := envValues{0: "sk"}
	if cfg, _ := parseEnv(&none); cfg.secrets != (unique.Handle[secrets]{}) {
		t.Error("a Config without secrets has a non-zero Handle, so it differs from one built by hand")
	}
}

func TestTransportWhenDefaultIsWrapped(t *testing.T) {
	old := http.DefaultTransport
	http.DefaultTransport = wrapped{old}
	defer func() { http.DefaultTransport = old }()
	tr := newTransport(10)
	if tr.MaxIdleConnsPerHost != 10 || tr.DialContext == nil || tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
		t.Errorf("transport built beside a wrapped DefaultTransport lacks settings: %+v", tr)
	}
}

type wrapped struct{ http.RoundTripper }

func TestHTTPClientOption(t *testing.T) {
	hc := &http.Client{}
	c, err := New(&Options{HTTPClient: hc, MaxIdleConnsPerHost: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.p.httpClient != hc || c.p.transport != nil {
		t.Errorf("with Options.HTTPClient: httpClient %p (want %p), own transport %v (want none)", c.p.httpClient, hc, c.p.transport)
	}
}

func TestHeaderLines(t *testing.T) {
	type kv struct{ k, v string }
	var got []kv
	for k, v := range headerLines("X-A: 1\n  X-B :two: parts \r\n\nX-C:") {
		got = append(got, kv{k, v})
	}
	want := []kv{{"X-A", "1"}, {"X-B", "two: parts"}, {"X-C", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("headerLines = %q, want %q", got, want)
	}
}

// TestFingerprint checks that a fingerprint is keyed: the same secret gives
// the same fingerprint, which is not a prefix of its unkeyed SHA-256.
func TestFingerprint(t *testing.T) {
	if got := fingerprint(""); got != "" {
		t.Errorf(`fingerprint("") = %q, want ""`, got)
	}
	got := fingerprint("abc")
	if len(got) != len("hmac:")+8 || !strings.HasPrefix(got, "hmac:") {
		t.Errorf(`fingerprint("abc") = %q, want "hmac:" and 8 hex digits`, got)
	}
	if again := fingerprint("abc"); again != got {
		t.Errorf("two fingerprints of one secret: %q, %q", got, again)
	}
	// SHA-256("abc") starts ba7816bf; a match would mean the key is unused
	// (a 1 in 2^32 chance otherwise).
	if strings.HasSuffix(got, "ba7816bf") {
		t.Errorf(`fingerprint("abc") = %q, the unkeyed SHA-256`, got)
	}
	if fingerprint("abd") == got {
		t.Error("two secrets share a fingerprint")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"https://api.openai.com/v1": "https://api.openai.com/v1",
		"http://user:pw@host/v1":    "http://xxxxx@host/v1",
		"https://TOKEN@gw/v1":       "https://xxxxx@gw/v1",
		"http://host/v1/@":          "(invalid URL)",
		"http://user:pw@[::1":       "(invalid URL)",
		"http:user:pw@host":         "(invalid URL)",
		"https://gw/v1?key=secret":  "(invalid URL)",
		"sk-pasted-key":             "(invalid URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
