// Package blocklist reads plain blocklists: blocklist.de's per-service IP
// lists (format "blocklistde"), DShield's recommended block list
// ("dshield-block") and any list of one indicator per line ("list").
package blocklist

import (
	"errors"

	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// New returns the parser for format, and whether this package has one.
func New(format string) (parse.Parser, bool) {
	switch format {
	case "blocklistde":
		return BlocklistDE(), true
	case "dshield-block":
		return DShieldBlock(), true
	case "list":
		return List(), true
	}
	return nil, false
}

// Formats lists the formats New knows.
var Formats = []string{"blocklistde", "dshield-block", "list"}

// ErrFormat is returned when a report is not in the format its feed names
// (see textreport.ErrFormat).
var ErrFormat = textreport.ErrFormat

// Errors of a feed's configuration, returned before anything is read.
var (
	// ErrNoClassification: a plain list says nothing about what its
	// entries are, so its feed must.
	ErrNoClassification = errors.New("no classification")
	// ErrField: the feed's field is not one a list entry can be.
	ErrField = errors.New("not a field a list entry can be")
)
