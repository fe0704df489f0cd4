package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Secret is a config value that must not be shown: a password, an API key,
// a database URL with a password in it. Every way of printing a Secret
// (fmt with any verb, String, GoString, encoding/json, encoding.TextMarshaler,
// YAML, log/slog) prints a redacted form instead of the value: a PostgreSQL
// URL keeps everything but its password (so an operator can still see which
// database is meant), anything else is "[redacted]" and an empty Secret is
// "". Reveal returns the value, for the one place that needs it (opening the
// database, logging in to a server).
//
// The redaction only works where the printing code can see the type: a
// Secret copied into a plain string, or held in an unexported struct field
// that fmt prints by reflection, is printed in clear.
type Secret string

// Redacted is what a Secret prints instead of its value.
const Redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns the redacted form of s.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	if r, ok := redactURL(string(s)); ok {
		return r
	}
	return Redacted
}

// redactURL returns a PostgreSQL URL with its password, and any query
// parameter whose name mentions a password, replaced by "xxxxx".
func redactURL(s string) (string, bool) {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || !isPostgresScheme(scheme) {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return "", false
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return "", false
		}
		for k := range q {
			if strings.Contains(strings.ToLower(k), "pass") {
				q[k] = []string{"xxxxx"}
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.Redacted(), true
}

func isPostgresScheme(scheme string) bool {
	scheme = strings.ToLower(scheme)
	return scheme == "postgres" || scheme == "postgresql"
}

// GoString returns the redacted form of s, quoted, for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format prints the redacted form of s for every verb; %q quotes it and
// %#v prints it as a quoted Go string.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q' || verb == 'v' && f.Flag('#'):
		io.WriteString(f, strconv.Quote(s.String()))
	default:
		io.WriteString(f, s.String())
	}
}

// MarshalJSON writes the redacted form of s as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText returns the redacted form of s.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML returns the redacted form of s.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue makes log/slog print the redacted form of s.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
