package openai

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The checks of this file describe what is wrong with a value without
// repeating any part of it: a value in the wrong place may be a secret (an
// API key pasted into OPENAI_BASE_URL), and a URL may carry one.

// checkHeaderValue reports whether s can be sent as the value of a header,
// as is: without control characters (CR and LF among them, which a key
// read from a file with its line ending has) and without white space at
// either end, which net/http would drop.
func checkHeaderValue(s string) error {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			if strings.TrimRight(s, "\r\n") != s && !hasControl(strings.TrimRight(s, "\r\n")) {
				return errors.New("ends with a line break (CR or LF), which cannot go into a header; remove the line ending where the value is stored")
			}
			return errors.New("has a control character (such as CR, LF or tab), which cannot go into a header")
		}
	}
	if strings.TrimSpace(s) != s {
		return errors.New("has white space at its start or end, which a header cannot keep")
	}
	return nil
}

// hasControl reports whether s has an ASCII control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// checkBaseURL reports whether base is an absolute http or https URL that
// openai-go uses as it is: with a valid port, and without a query or
// fragment, which openai-go would drop. A user name and password are
// allowed (and never sent: see sendURL), but an "@" in the path is refused,
// as it most likely ends a password that holds a "/": in
// "http://user:12/secret@host/v1" the host is "user" and the path
// "/secret@host/v1".
func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return errors.New("not a valid URL")
	case u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("not an absolute http or https URL")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("has a query, which openai-go would drop; pass query parameters with option.WithQuery")
	case u.Fragment != "":
		return errors.New("has a fragment (#...), which openai-go would drop")
	case strings.Contains(u.Path, "@"):
		return errors.New(`has an "@" in its path; percent-encode any "/" or "@" in a user name or password`)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("has a port that is not a number from 1 to 65535")
		}
	}
	return nil
}

// sendURL returns base, which checkBaseURL accepted, without its user name
// and password. openai-go sends the API key in the Authorization header, so
// net/http never sends a URL's user name and password; but openai-go and
// net/http print the request URL in their errors, where they must not
// appear.
func sendURL(base string) string {
	if !strings.Contains(base, "@") {
		return base
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.User = nil
	return u.String()
}

// redactURL returns base as logs and fmt may show it: with its user name
// and password, if any, replaced by "xxxxx"; "(invalid URL)" if
// checkBaseURL refuses it, since it might show a secret anywhere.
func redactURL(base string) string {
	if base == "" {
		return ""
	}
	if checkBaseURL(base) != nil {
		return "(invalid URL)"
	}
	if !strings.Contains(base, "@") {
		return base
	}
	u, _ := url.Parse(base)
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	return u.String()
}

// reservedHeaders are the headers that a custom header may not set, by
// canonical name, with the variable that sets each: what a client sends
// in them is what its Config, and its log records, say.
var reservedHeaders = map[string]struct{ name, by string }{
	"Authorization":       {"Authorization", "OPENAI_API_KEY (or OPENAI_ADMIN_KEY)"},
	"Openai-Organization": {"OpenAI-Organization", "OPENAI_ORG_ID"},
	"Openai-Project":      {"OpenAI-Project", "OPENAI_PROJECT_ID"},
	"Api-Key":             {"api-key", "AZURE_OPENAI_API_KEY"},
}

// checkCustomHeaders reports whether s, a value of OPENAI_CUSTOM_HEADERS,
// is made of "Name: value" lines that can all be sent: each name a valid
// header name that no other setting sets, each value a valid header value.
// Blank lines are skipped; a line ending in CR (CRLF line endings) is
// trimmed, as openai-go trims it.
func checkCustomHeaders(s string) error {
	for i, line := range lines(s) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return fmt.Errorf(`line %d is not a "Name: value" header`, i+1)
		case !validHeaderName(name):
			return fmt.Errorf("line %d: the header name is empty or not a valid token (letters, digits and !#$%%&'*+-.^_`|~)", i+1)
		case hasForbiddenControl(value):
			return fmt.Errorf("line %d: the value of %s has a control character, which cannot go into a header", i+1, name)
		}
		if r, ok := reservedHeaders[http.CanonicalHeaderKey(name)]; ok {
			return fmt.Errorf("line %d sets %s, which only %s may set", i+1, r.name, r.by)
		}
	}
	return nil
}

// lines yields the lines of s, split at "\n", with their numbers from 0.
func lines(s string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		i := 0
		for line := range strings.SplitSeq(s, "\n") {
			if !yield(i, line) {
				return
			}
			i++
		}
	}
}

// headerLines yields the headers of a value of OPENAI_CUSTOM_HEADERS that
// checkCustomHeaders accepted, in order, trimmed of white space, as
// openai-go parses them.
func headerLines(s string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for line := range strings.SplitSeq(s, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if ok && !yield(strings.TrimSpace(name), strings.TrimSpace(value)) {
				return
			}
		}
	}
}

// validHeaderName reports whether name is a token of RFC 9110, the syntax
// of a header name.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// hasForbiddenControl reports whether value has a control character that a
// header value may not hold: any but horizontal tab.
func hasForbiddenControl(value string) bool {
	for i := 0; i < len(value); i++ {
		if b := value[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return true
		}
	}
	return false
}
