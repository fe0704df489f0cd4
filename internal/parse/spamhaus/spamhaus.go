// Package spamhaus reads Spamhaus's Don't Route Or Peer lists (format
// "spamhaus-drop"): DROP, EDROP and DROPv6 ("CIDR ; SBLnnn" lines),
// ASN-DROP ("ASnnn ; CC | AS name" lines) and their JSON-lines forms
// (drop_v4.json, drop_v6.json: {"cidr", "sblid", "rir"}; asndrop.json:
// {"asn", "rir", "domain", "cc", "asname"}), each told from its content.
//
// A network is source.network with its SBL record as extra.blocklist (as
// IntelMQ's Spamhaus DROP parser names it); an AS is source.asn with its
// name and country; the RIR is source.registry. time.source is the list's
// date: the "; Last-Modified:" comment of the text lists, the "timestamp"
// of the JSON lists' metadata line. The classification is the feed's; a
// feed with none gets IntelMQ's, abusive-content/spam.
package spamhaus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// ErrFormat is returned when a report is not a Spamhaus DROP list: its
// first record is none of the forms above (see textreport.ErrFormat).
var ErrFormat = textreport.ErrFormat

// maxReport bounds a report, which is read whole (the lists' dates come
// last in the JSON forms). The real lists are well under 1 MB.
const maxReport = 64 << 20

// New returns the parser for format, and whether this package has one.
func New(format string) (parse.Parser, bool) {
	if format == "spamhaus-drop" {
		return DROP(), true
	}
	return nil, false
}

// Formats lists the formats New knows.
var Formats = []string{"spamhaus-drop"}

// DROP returns the parser of Spamhaus's DROP, EDROP, DROPv6 and ASN-DROP
// lists in their text and JSON-lines forms.
func DROP() parse.Parser { return parse.Func(parseDROP) }

// record is one line of the JSON-lines lists, or their metadata line.
type record struct {
	CIDR      string      `json:"cidr"`
	SBLID     string      `json:"sblid"`
	RIR       string      `json:"rir"`
	ASN       json.Number `json:"asn"`
	Domain    string      `json:"domain"`
	CC        string      `json:"cc"`
	ASName    string      `json:"asname"`
	Type      string      `json:"type"`
	Timestamp json.Number `json:"timestamp"`
}

func parseDROP(ctx context.Context, in parse.Input, out parse.Output) error {
	data, err := io.ReadAll(io.LimitReader(in.R, maxReport+1))
	if err != nil {
		return fmt.Errorf("read Spamhaus DROP list: %w", err)
	}
	if len(data) > maxReport {
		return fmt.Errorf("%w: a Spamhaus DROP list of more than %d bytes", ErrFormat, maxReport)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	listTime := findTime(data)

	var e event.Event
	confirmed := false
	n := 0
	for rest := data; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		n++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] == ';' {
			if bytes.Contains(line, []byte("Spamhaus")) {
				confirmed = true
			}
			continue
		}
		if err := parse.Begin(&e, &in); err != nil {
			return fmt.Errorf("feed %q: %w", in.Feed.Name, err)
		}
		if e.Classification.Type == "" {
			e.Classification.Taxonomy, e.Classification.Type = "abusive-content", "spam"
		}
		e.TimeSource = listTime
		skip, err := fill(&e, line)
		if skip {
			confirmed = true
			continue
		}
		if err == nil {
			e.Raw = append(e.Raw[:0], line...)
			err = e.Validate()
		}
		if err != nil {
			if !confirmed {
				return fmt.Errorf("%w: not a Spamhaus DROP list: line %d: %v", ErrFormat, n, err)
			}
			if err := out.Reject(n, line, err); err != nil {
				return err
			}
			continue
		}
		confirmed = true
		if err := out.Event(&e, n); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// fill sets e from one line; skip is a line that is no record (the JSON
// lists' metadata).
func fill(e *event.Event, line []byte) (skip bool, err error) {
	if line[0] == '{' {
		var r record
		if err := json.Unmarshal(line, &r); err != nil {
			return false, fmt.Errorf("not a JSON object: %v", err)
		}
		if r.Type == "metadata" {
			return true, nil
		}
		return false, fillJSON(e, &r)
	}
	s := string(line)
	if len(s) > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') && s[2] >= '0' && s[2] <= '9' {
		return false, fillASN(e, s)
	}
	network, sbl, _ := strings.Cut(s, ";")
	network = strings.TrimSpace(network)
	if err := e.Set("source.network", network); err != nil {
		return false, err
	}
	if sbl = strings.TrimSpace(sbl); sbl != "" {
		if err := e.Set("extra.blocklist", sbl); err != nil {
			return false, err
		}
	}
	return false, nil
}

// fillASN reads an ASN-DROP text line: "AS260 ; AE | XCONNECT24 - Xconnect24 Inc., US".
func fillASN(e *event.Event, s string) error {
	asn, rest, _ := strings.Cut(s, ";")
	if err := e.Set("source.asn", strings.TrimSpace(asn)); err != nil {
		return err
	}
	if e.Source.ASN == 0 {
		return fmt.Errorf("source.asn: %q is not an AS number an AS can have", strings.TrimSpace(asn))
	}
	cc, name, found := strings.Cut(rest, "|")
	if !found {
		cc, name = "", rest
	}
	if err := e.Set("source.geolocation.cc", strings.TrimSpace(cc)); err != nil {
		return err
	}
	return e.Set("source.as_name", strings.TrimSpace(name))
}

func fillJSON(e *event.Event, r *record) error {
	switch {
	case r.CIDR != "":
		if err := e.Set("source.network", r.CIDR); err != nil {
			return fmt.Errorf("cidr: %w", err)
		}
		if err := e.Set("extra.blocklist", r.SBLID); err != nil {
			return fmt.Errorf("sblid: %w", err)
		}
	case r.ASN != "":
		if err := e.Set("source.asn", r.ASN.String()); err != nil {
			return fmt.Errorf("asn: %w", err)
		}
		if e.Source.ASN == 0 {
			return fmt.Errorf("asn: 0 is not an AS number")
		}
		if err := e.Set("source.as_name", r.ASName); err != nil {
			return fmt.Errorf("asname: %w", err)
		}
		if err := e.Set("source.geolocation.cc", r.CC); err != nil {
			return fmt.Errorf("cc: %w", err)
		}
		if r.Domain != "" {
			if err := e.Set("extra.domain", r.Domain); err != nil {
				return fmt.Errorf("domain: %w", err)
			}
		}
	default:
		return fmt.Errorf(`the object has neither "cidr" nor "asn"`)
	}
	if err := e.Set("source.registry", registry(r.RIR)); err != nil {
		return fmt.Errorf("rir: %w", err)
	}
	return nil
}

// findTime returns the list's date: the text lists' "; Last-Modified:"
// comment or the JSON lists' metadata timestamp; zero when there is none.
func findTime(data []byte) time.Time {
	if i := bytes.Index(data, []byte("; Last-Modified:")); i >= 0 {
		v := data[i+len("; Last-Modified:"):]
		if j := bytes.IndexByte(v, '\n'); j >= 0 {
			v = v[:j]
		}
		if t, err := event.ParseTime(strings.TrimSpace(string(v))); err == nil {
			return t
		}
		return time.Time{}
	}
	i := bytes.LastIndex(data, []byte(`"metadata"`))
	if i < 0 {
		return time.Time{}
	}
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	end := bytes.IndexByte(data[i:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += i
	}
	var r record
	if json.Unmarshal(data[start:end], &r) != nil || r.Type != "metadata" {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(r.Timestamp.String(), 10, 64)
	if err != nil || sec <= 0 || sec > 1e11 { // 1e11 s is the year 5138
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// registry spells a RIR as IntelMQ's source.registry does: AFRINIC, APNIC,
// ARIN, LACNIC, RIPE (Spamhaus writes "ripencc").
func registry(rir string) string {
	switch strings.ToLower(rir) {
	case "ripencc", "ripe-ncc", "ripe ncc":
		return "RIPE"
	}
	return rir
}
