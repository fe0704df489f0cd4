// Package textreport holds what the parsers of line-oriented text reports
// share: a Scanner that reads a report line by line, counting lines and
// bounding their length; a Session that runs one parse over it, one event
// per record, and fails the whole report with ErrFormat while nothing in
// it has shown it to be of its format; CSV rows split and mapped to a
// format's columns; and the checks and setters that turn text values
// (times, URLs, hosts, domain names, extra columns) into event fields.
//
// The parsers of abuse.ch's exports, of phishing feeds and of plain
// blocklists are built on all of it; the JSON-lines and CSV parsers use
// the Scanner alone.
package textreport

import "errors"

// ErrFormat is returned when a report is not in the format its feed names:
// its first record could not be read and nothing in it (a header, an
// earlier good row) showed it to be of that format.
var ErrFormat = errors.New("report is not in the feed's format")

// MaxLine bounds one line of a Session's report; a longer line is
// rejected, not read.
const MaxLine = 1 << 20
