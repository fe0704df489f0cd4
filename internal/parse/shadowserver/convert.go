package shadowserver

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

// conv is one of the schema's conversion functions. The functions are
// IntelMQ's (intelmq/bots/parsers/shadowserver/_config.py), written anew;
// where one differs from IntelMQ the comment says so.
type conv uint8

const (
	convNone conv = iota
	convAddUTC
	convValidateIP
	convValidateNetwork
	convToNone
	convInt
	convFloat
	convBool
	convInvalidateZero
	convDate
	convDateUTC
	convFQDN
	convHTTPHostURL
	convCVEFromTag
	convCategoryOrDetail
	convBase64
	convExchangeTaxonomy
	convExchangeType
	convExchangeIdentifier
)

type convInfo struct {
	name     string
	wholeRow bool
}

var convs = [...]convInfo{
	convNone:               {name: "none"},
	convAddUTC:             {name: "add_UTC_to_timestamp"},
	convValidateIP:         {name: "validate_ip"},
	convValidateNetwork:    {name: "validate_network"},
	convToNone:             {name: "validate_to_none"},
	convInt:                {name: "convert_int"},
	convFloat:              {name: "convert_float"},
	convBool:               {name: "convert_bool"},
	convInvalidateZero:     {name: "invalidate_zero"},
	convDate:               {name: "convert_date"},
	convDateUTC:            {name: "convert_date_utc"},
	convFQDN:               {name: "validate_fqdn"},
	convHTTPHostURL:        {name: "convert_http_host_and_url", wholeRow: true},
	convCVEFromTag:         {name: "extract_cve_from_tag"},
	convCategoryOrDetail:   {name: "category_or_detail", wholeRow: true},
	convBase64:             {name: "force_base64"},
	convExchangeTaxonomy:   {name: "scan_exchange_taxonomy"},
	convExchangeType:       {name: "scan_exchange_type"},
	convExchangeIdentifier: {name: "scan_exchange_identifier"},
}

var convByName = func() map[string]conv {
	m := make(map[string]conv, len(convs))
	for c, info := range convs {
		if c != int(convNone) {
			m[info.name] = conv(c)
		}
	}
	return m
}()

// valKind is the type of a converted value, which decides how it is stored
// in extra (IntelMQ keeps the Python type: convert_int gives a JSON number).
type valKind uint8

const (
	valNone  valKind = iota // the conversion gave None: no value
	valStr                  // text in s
	valInt                  // an integer in i; s holds its text
	valFloat                // a number in f; s holds its text
	valBool                 // a truth value in b; s holds its text
)

// val is a converted value; it never allocates on its own.
type val struct {
	kind valKind
	s    string
	i    int64
	f    float64
	b    bool
}

func str(s string) val { return val{kind: valStr, s: s} }

// any returns v as an extra value.
func (v val) any() any {
	switch v.kind {
	case valInt:
		return v.i
	case valFloat:
		return v.f
	case valBool:
		return v.b
	}
	return v.s
}

// rowView gives the whole-row conversions the cells they read.
type rowView interface {
	// cell returns the value of the named column and whether the header
	// has it.
	cell(col wholeCol) (string, bool)
}

// wholeCol names the columns whole-row conversions read.
type wholeCol uint8

const (
	colCCDNS wholeCol = iota
	colHTTPHost
	colURL
	colHTTPURL
	colApplication
	colDetail
	numWholeCols
)

var wholeColNames = [numWholeCols]string{"cc_dns", "http_host", "url", "http_url", "application", "detail"}

// apply runs c on s. An error means the value cannot be converted, which
// rejects the row (IntelMQ lets the exception fail the line, for optional
// fields too).
func (c conv) apply(s string, row rowView, buf *[]byte) (val, error) {
	switch c {
	case convNone:
		return str(s), nil
	case convAddUTC:
		// IntelMQ appends " UTC" and lets the field parse it; ParseTime
		// reads a time without a zone as UTC, which is the same.
		return str(s), nil
	case convValidateIP:
		// validate_ip: None for 0.0.0.0, for anything with a '/', and for
		// what is not an IP address.
		if s == "0.0.0.0" || strings.IndexByte(s, '/') >= 0 {
			return val{}, nil
		}
		if _, err := event.ParseIP(s); err != nil {
			return val{}, nil
		}
		return str(s), nil
	case convValidateNetwork:
		if strings.IndexByte(s, '/') < 0 {
			return val{}, nil
		}
		if _, err := event.ParseNetwork(s); err != nil {
			return val{}, nil
		}
		return str(s), nil
	case convToNone:
		if s == "" || s == "0" || s == "unknown" {
			return val{}, nil
		}
		return str(s), nil
	case convInt:
		if s == "" {
			return val{}, nil
		}
		n, err := pyInt(s)
		if err != nil {
			return val{}, err
		}
		return val{kind: valInt, s: s, i: n}, nil
	case convInvalidateZero:
		if s == "" {
			return val{}, nil
		}
		n, err := pyInt(s)
		if err != nil {
			return val{}, err
		}
		if n == 0 {
			return val{}, nil
		}
		return val{kind: valInt, s: s, i: n}, nil
	case convFloat:
		if s == "" {
			return val{}, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			// Python's float() takes "nan" and "inf", which JSON cannot
			// hold; they are refused here.
			return val{}, fmt.Errorf("%q is not a finite number", s)
		}
		return val{kind: valFloat, s: s, f: f}, nil
	case convBool:
		switch strings.ToLower(s) {
		case "y", "yes", "true", "enabled", "1":
			return val{kind: valBool, s: "true", b: true}, nil
		case "n", "no", "false", "disabled", "0":
			return val{kind: valBool, s: "false", b: false}, nil
		}
		return val{}, nil
	case convDate, convDateUTC:
		// DateTime.sanitize: an ISO 8601 time in UTC, or None when the
		// value is not a time. A time without a zone is UTC either way.
		if s == "" {
			return val{}, nil
		}
		t, ok := parseHTTPDate(s)
		if !ok {
			var err error
			if t, err = event.ParseTime(s); err != nil {
				return val{}, nil
			}
		}
		*buf = event.AppendTime((*buf)[:0], t)
		return str(string(*buf)), nil
	case convFQDN:
		if s == "" {
			return val{}, nil
		}
		if _, err := event.NormFQDN(s); err != nil {
			return val{}, nil
		}
		return str(s), nil
	case convHTTPHostURL:
		return httpHostAndURL(s, row, buf), nil
	case convCVEFromTag:
		return cveFromTag(s, buf), nil
	case convCategoryOrDetail:
		// IntelMQ's category_or_detail: the category when there is one,
		// else the detail column.
		if s != "" {
			return str(s), nil
		}
		if d, ok := row.cell(colDetail); ok && d != "" {
			return str(d), nil
		}
		return val{}, nil
	case convBase64:
		return forceBase64(s), nil
	case convExchangeTaxonomy:
		if s == "exchange;webshell" {
			return str("intrusions"), nil
		}
		return str("vulnerable"), nil
	case convExchangeType:
		if s == "exchange;webshell" {
			return str("system-compromise"), nil
		}
		// IntelMQ writes infected-system, which belongs to the
		// malicious-code taxonomy, not to the vulnerable taxonomy that
		// scan_exchange_taxonomy gives the same rows; an Event refuses
		// that pair. A server found vulnerable is a vulnerable-system.
		return str("vulnerable-system"), nil
	case convExchangeIdentifier:
		if s == "exchange;webshell" {
			return str("exchange-server-webshell"), nil
		}
		return str("vulnerable-exchange-server"), nil
	}
	return val{}, fmt.Errorf("internal: conversion %d", c)
}

// parseHTTPDate reads the form HTTP dates have, "Wed, 10 Feb 2010
// 00:00:00 GMT", which event.ParseTime also reads but only after trying
// many other layouts. It gives the time ParseTime gives, or false.
func parseHTTPDate(s string) (time.Time, bool) {
	if len(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		s[19] != ':' || s[22] != ':' || s[25:] != " GMT" {
		return time.Time{}, false
	}
	if wd := strings.Index("MonTueWedThuFriSatSun", s[:3]); wd < 0 || wd%3 != 0 {
		return time.Time{}, false
	}
	mon := strings.Index("JanFebMarAprMayJunJulAugSepOctNovDec", s[8:11])
	if mon < 0 || mon%3 != 0 {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	d, y, h, mi, se := num(5, 7), num(12, 16), num(17, 19), num(20, 22), num(23, 25)
	if d < 1 || y < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mon/3+1), d, h, mi, se, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// pyInt reads an integer as Python's int() does for the values feeds hold:
// surrounding space and a sign are allowed, a fraction is not.
func pyInt(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return n, nil
}

// httpHostAndURL joins a host and a path into a URL, for reports that split
// them: the host from cc_dns or http_host, the path from url or http_url
// (which some reports fill with a whole request line, "GET /x HTTP/1.1"),
// the scheme from application when it is http or https. Without both it
// returns the value as it is, which then stays in extra when it is no URL.
func httpHostAndURL(s string, row rowView, buf *[]byte) val {
	host, ok := row.cell(colCCDNS)
	if !ok {
		host, _ = row.cell(colHTTPHost)
	}
	p, ok := row.cell(colURL)
	if !ok {
		p, _ = row.cell(colHTTPURL)
	}
	if host == "" || p == "" {
		return str(s)
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i:]
	} else {
		p = ""
	}
	if i := strings.IndexAny(p, " \t\n\r\v\f"); i >= 0 {
		p = p[:i]
	}
	scheme := "http"
	if app, ok := row.cell(colApplication); ok && (app == "http" || app == "https") {
		scheme = app
	}
	b := append((*buf)[:0], scheme...)
	b = append(b, "://"...)
	b = append(b, host...)
	b = append(b, p...)
	*buf = b
	return str(string(b))
}

// cveFromTag returns the CVE identifiers among the ';'-separated tags,
// sorted, without repeats, joined by ','; None when there is none.
func cveFromTag(s string, buf *[]byte) val {
	if !containsFoldCVE(s) {
		return val{}
	}
	var found []string
	for t := range strings.SplitSeq(s, ";") {
		if isCVE(t) {
			found = append(found, strings.ToLower(t))
		}
	}
	if len(found) == 0 {
		return val{}
	}
	slices.Sort(found)
	found = slices.Compact(found)
	b := (*buf)[:0]
	for i, c := range found {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, c...)
	}
	*buf = b
	return str(string(b))
}

func containsFoldCVE(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if (s[i]|0x20) == 'c' && (s[i+1]|0x20) == 'v' && (s[i+2]|0x20) == 'e' && s[i+3] == '-' {
			return true
		}
	}
	return false
}

// isCVE reports whether t is cve-DIGITS-DIGITS, in any case.
func isCVE(t string) bool {
	if len(t) < 7 || (t[0]|0x20) != 'c' || (t[1]|0x20) != 'v' || (t[2]|0x20) != 'e' || t[3] != '-' {
		return false
	}
	t = t[4:]
	dash := strings.IndexByte(t, '-')
	if dash <= 0 || dash == len(t)-1 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if i != dash && (t[i] < '0' || t[i] > '9') {
			return false
		}
	}
	return true
}

// forceBase64 leaves a value that is already base64 as it is and encodes
// any other; an empty value is None.
func forceBase64(s string) val {
	if s == "" {
		return val{}
	}
	if strings.ContainsAny(s, "\r\n") || len(s)%4 != 0 {
		return str(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return str(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	return str(s)
}
