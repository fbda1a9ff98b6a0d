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
// `openai: OPENAI_MAX_RETRIES: more than 10, ...`, which never repeats
// the value.
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
		BaseURL:      strings.TrimSpace(raw[1]),
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
	for _, i := range []int{0, 2, 3, 6} { // the values sent in headers
		if err := checkHeaderValue(raw[i]); err != nil {
			bad(i, err)
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
		n, err := parseMaxRetries(s)
		if err != nil {
			bad(5, err)
		}
		cfg.MaxRetries = n
	}
	if err := checkCustomHeaders(raw[8]); err != nil {
		bad(8, err)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg.normalize()
}

// parseTimeout parses a positive timeout given as a plain decimal number of
// seconds ("30", "2.5", ".5") or as a Go duration ("90s", "1m30s"). It
// accepts no other notation: no exponent ("1e2"), underscores ("1_000"),
// hexadecimal ("0x1p-2"), sign, Inf or NaN, which strconv.ParseFloat would.
func parseTimeout(s string) (time.Duration, error) {
	var d time.Duration
	if plainDecimal(s) {
		var err error
		if d, err = time.ParseDuration(s + "s"); err != nil {
			return 0, fmt.Errorf("too long: the longest timeout is %v", time.Duration(math.MaxInt64))
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New(`not a number of seconds (such as "30" or "2.5") or a Go duration (such as "90s")`)
		}
	}
	if d <= 0 {
		return 0, errors.New("not positive (the shortest timeout is 1ns)")
	}
	return d, nil
}

// plainDecimal reports whether s is digits with at most one decimal point,
// and at least one digit.
func plainDecimal(s string) bool {
	digits, points := 0, 0
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case '0' <= b && b <= '9':
			digits++
		case b == '.':
			points++
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

// parseMaxRetries parses a number of retries: decimal digits only, at most
// MaxRetriesLimit.
func parseMaxRetries(s string) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("not a whole number from 0 to %d", MaxRetriesLimit)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxRetriesLimit {
		return 0, fmt.Errorf("more than %d, the most retries this package allows (MaxRetriesLimit)", MaxRetriesLimit)
	}
	return n, nil
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
