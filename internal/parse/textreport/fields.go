package textreport

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
)

// The setters below store a column's text value in an event. An empty
// value sets nothing; an error names the column, as the report does.

// SetExtra stores the text v under extra.key; the error is a value too
// long to keep.
func SetExtra(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	if err := e.Set("extra."+key, v); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	return nil
}

// SetInt stores v under extra.key as a number when it is one, else as
// text.
func SetInt(e *event.Event, key, column, v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		e.SetExtra(key, n)
		return nil
	}
	return SetExtra(e, key, column, v)
}

// SetBool stores a truth value ("0"/"1", "True"/"False") under extra.key.
func SetBool(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	b, err := event.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	e.SetExtra(key, b)
	return nil
}

// SetTimeExtra stores a time (see ParseTime) under extra.key in the
// event's time form.
func SetTimeExtra(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	t, err := ParseTime(v)
	if err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	e.SetExtra(key, event.FormatTime(t))
	return nil
}

// SetURL stores u as source.url and its host as source.ip or
// source.fqdn, so that the event can be matched to the host's owner. u
// is not optional: an empty one is an error.
func SetURL(e *event.Event, column, u string) error {
	if err := e.Set("source.url", u); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	SetHost(e, URLHost(e.Source.URL))
	return nil
}

// SetHost sets source.ip or source.fqdn from a host name or address; a
// host that is neither (see CheckDomain) is left out, since the URL it
// came from still says it.
func SetHost(e *event.Event, h string) {
	if h == "" {
		return
	}
	if c := h[len(h)-1]; c >= '0' && c <= '9' || strings.IndexByte(h, ':') >= 0 {
		if a, err := event.ParseIP(h); err == nil {
			e.Source.IP = a
			return
		}
	}
	if CheckDomain(h) != nil {
		return
	}
	if f, err := event.NormFQDN(h); err == nil {
		e.Source.FQDN = f
	}
}

// DefaultClass sets the classification IntelMQ gives this kind of data
// when the feed's configuration names none.
func DefaultClass(e *event.Event, taxonomy, typ string) {
	if e.Classification.Type == "" {
		e.Classification.Taxonomy = taxonomy
		e.Classification.Type = typ
	}
}

// SetClass sets a classification the data itself states, overriding the
// feed's.
func SetClass(e *event.Event, taxonomy, typ string) {
	e.Classification.Taxonomy = taxonomy
	e.Classification.Type = typ
}
