package openai

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// envNames are the variables that ConfigFromEnv reads: those of the table in
// the package documentation, but for OPENAI_MODEL.
var envNames = [...]string{
	"OPENAI_API_KEY",
	"OPENAI_BASE_URL",
	"OPENAI_ORG_ID",
	"OPENAI_PROJECT_ID",
	"OPENAI_TIMEOUT",
	"OPENAI_MAX_RETRIES",
	"OPENAI_ADMIN_KEY",
	"OPENAI_WEBHOOK_SECRET",
	"OPENAI_CUSTOM_HEADERS",
}

// envValues holds the values of envNames, in order.
type envValues [len(envNames)]string

// envParse is a set of values of envNames and the Config they make.
type envParse struct {
	raw envValues
	cfg Config
}

// lastEnv is the latest successful parse, which ConfigFromEnv returns as
// long as the variables keep their values, without parsing them again.
var lastEnv atomic.Pointer[envParse]

// An EnvError reports an environment variable whose value is not usable.
// Its message names the variable and never repeats a secret.
type EnvError struct {
	Var string // the variable, such as "OPENAI_TIMEOUT"
	Err error  // what is wrong with its value
}

// Error returns a message such as
// `openai: OPENAI_TIMEOUT: "abc" is not a number of seconds or a Go duration`.
func (e *EnvError) Error() string {
	// Err may be one of this package's errors, such as ErrNoAPIKey, whose
	// prefix would repeat.
	return "openai: " + e.Var + ": " + strings.TrimPrefix(e.Err.Error(), "openai: ")
}

// Unwrap returns e.Err.
func (e *EnvError) Unwrap() error { return e.Err }

// ConfigFromEnv returns the Config described by the environment variables in
// the table of the package documentation. A variable that is unset or empty
// takes its default. OPENAI_API_KEY is required: without it ConfigFromEnv
// returns an error that wraps [ErrNoAPIKey]. Each unusable value gives an
// [*EnvError] that names its variable; when several values are bad, the
// error joins one EnvError per variable.
//
// ConfigFromEnv also reads OPENAI_ADMIN_KEY, OPENAI_WEBHOOK_SECRET and
// OPENAI_CUSTOM_HEADERS, which openai-go reads too, into unexported fields,
// so that a change of any of them gives a different client.
//
// Reading the environment again with unchanged values does not allocate.
func ConfigFromEnv() (Config, error) {
	var raw envValues
	for i, name := range envNames {
		raw[i] = os.Getenv(name)
	}
	if p := lastEnv.Load(); p != nil && p.raw == raw {
		return p.cfg, nil
	}
	cfg, err := parseEnv(&raw)
	if err != nil {
		return Config{}, err
	}
	lastEnv.Store(&envParse{raw: raw, cfg: cfg})
	return cfg, nil
}

// parseEnv returns the Config that the values of envNames make.
func parseEnv(raw *envValues) (Config, error) {
	cfg := Config{
		APIKey:       raw[0],
		BaseURL:      raw[1],
		Organization: raw[2],
		Project:      raw[3],
		Timeout:      DefaultTimeout,
		MaxRetries:   DefaultMaxRetries,
		secrets: internSecrets(secrets{
			adminKey:      raw[6],
			webhookSecret: raw[7],
			headers:       raw[8],
		}),
	}
	var errs []error
	bad := func(i int, err error) {
		errs = append(errs, &EnvError{Var: envNames[i], Err: err})
	}
	if cfg.APIKey == "" {
		bad(0, ErrNoAPIKey)
	}
	if cfg.BaseURL != "" {
		if err := checkBaseURL(cfg.BaseURL); err != nil {
			bad(1, err)
		}
	}
	if s := strings.TrimSpace(raw[4]); s != "" {
		d, err := parseTimeout(s)
		if err != nil {
			bad(4, err)
		}
		cfg.Timeout = d
	}
	if s := strings.TrimSpace(raw[5]); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			bad(5, fmt.Errorf("%q is not an integer", s))
		case n < 0:
			bad(5, fmt.Errorf("%q is negative", s))
		}
		cfg.MaxRetries = n
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg.normalize()
}

// maxSeconds is the longest time.Duration, in seconds.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// parseTimeout parses a positive, finite timeout given as a number of
// seconds, which may have decimals ("2.5"), or as a Go duration ("90s").
func parseTimeout(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			return 0, fmt.Errorf("%q is not a number of seconds or a Go duration", s)
		case d <= 0:
			return 0, fmt.Errorf("%q is not positive", s)
		}
		return d, nil
	}
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0, fmt.Errorf("%q is not a positive number of seconds", s)
	case f >= maxSeconds:
		return 0, fmt.Errorf("%q is too long: the limit is %.0f seconds", s, math.Floor(maxSeconds))
	}
	d := time.Duration(math.Round(f * float64(time.Second)))
	if d <= 0 {
		return 0, fmt.Errorf("%q is shorter than a nanosecond", s)
	}
	return d, nil
}

// envModel returns model if it is not "", else OPENAI_MODEL if it is set,
// else DefaultModel.
func envModel(model string) string {
	if model != "" {
		return model
	}
	if m := os.Getenv("OPENAI_MODEL"); m != "" {
		return m
	}
	return DefaultModel
}
