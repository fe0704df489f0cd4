// Package abusech reads the exports of abuse.ch's trackers: the Feodo
// Tracker botnet C2 IP blocklist (format "feodo"), the SSLBL botnet C2 IP
// blacklist ("sslbl"), the URLhaus URL lists ("urlhaus") and ThreatFox's
// IOC exports ("threatfox").
//
// Each row becomes one event with IntelMQ's field names, as IntelMQ's
// abuse.ch parsers and feed definitions fill them: the address, port, URL
// or domain as source.*, the row's date as time.source, the malware
// family lower-cased as malware.name (and classification.identifier), the
// tracker's status as status and every other column under extra.*. Lines
// that start with '#' are comments; a '#' line that names the columns is
// read as the header, so reordered or added columns are followed.
//
// The classification is the feed's; where the data says what an indicator
// is (URLhaus's threat, ThreatFox's threat_type) the data wins. A feed with
// no classification gets IntelMQ's: malicious-code/c2-server, or
// malware-distribution for URLhaus.
package abusech

import (
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// ErrFormat is returned when a report is not in the format its feed names
// (see textreport.ErrFormat).
var ErrFormat = textreport.ErrFormat

// New returns the parser for format, and whether this package has one.
func New(format string) (parse.Parser, bool) {
	switch format {
	case "feodo":
		return Feodo(), true
	case "sslbl":
		return SSLBL(), true
	case "urlhaus":
		return URLhaus(), true
	case "threatfox":
		return ThreatFox(), true
	}
	return nil, false
}

// Formats lists the formats New knows.
var Formats = []string{"feodo", "sslbl", "urlhaus", "threatfox"}

// get returns column c of row, or "" when the report has no such column.
// abuse.ch writes "None" for an empty value; that is "" too.
func get(l textreport.Layout, row []string, c int) string {
	if v := l.Get(row, c); v != "None" {
		return v
	}
	return ""
}
