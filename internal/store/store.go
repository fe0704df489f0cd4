// Package store defines where tocsin keeps reports, events and the
// quarantine. Two implementations pass one conformance suite (storetest):
// store/sqlite, the embedded default, and store/postgres.
//
// Ingest is report-at-a-time: Begin registers a raw report by its SHA-256
// and returns a Tx; events and quarantined rows are added to it; Commit makes
// all of them visible at once, Rollback leaves nothing behind. A report
// already stored is refused with ErrKnownReport, so ingesting a file twice
// adds nothing.
//
// Deduplication happens inside the Tx, where it is cheap: every record
// carries a partition (feed, classification type, window) and a 64-bit key
// identifying the event within it. A record whose key is already in its
// partition, stored earlier or earlier in the same Tx, does not add an event:
// it adds one to that event's count and widens its first/last seen.
package store

import (
	"context"
	"errors"
	"iter"
	"time"
)

// ErrKnownReport is returned by Begin when a report with the same SHA-256 is
// already stored.
var ErrKnownReport = errors.New("report already stored")

// Store keeps reports, events and quarantined rows. Its methods are safe for
// concurrent use; several processes may share one database.
type Store interface {
	// Begin starts storing a report. The caller must Commit or Rollback the
	// returned Tx. It returns ErrKnownReport when the report's SHA-256 is
	// already stored (committed).
	Begin(ctx context.Context, r Report) (Tx, error)
	// Events yields stored events matching f in ascending ID order.
	Events(ctx context.Context, f Filter) iter.Seq2[*Event, error]
	// Quarantined yields quarantined rows, oldest first.
	Quarantined(ctx context.Context, f QuarantineFilter) iter.Seq2[*Quarantined, error]
	// Reports yields stored reports, oldest first.
	Reports(ctx context.Context) iter.Seq2[*Report, error]
	// Close releases the store.
	Close() error
}

// Tx is one report being stored. It is not safe for concurrent use.
type Tx interface {
	// Add stores records, deduplicating them as the package doc says. It
	// does not retain recs or their Docs after it returns.
	Add(ctx context.Context, recs []Record) (Added, error)
	// SetBase records the report's base: the bytes its events' Docs were
	// encoded against (event.Base), returned with every event of the
	// report. It is called at most once, before the first Add.
	SetBase(ctx context.Context, base []byte) error
	// Quarantine stores rows that could not be parsed.
	Quarantine(ctx context.Context, q []Quarantined) error
	// Commit makes the report and everything added visible, recording the
	// report's totals.
	Commit(ctx context.Context) (Totals, error)
	// Rollback discards the report and everything added. It is safe to call
	// after Commit (it then does nothing).
	Rollback() error
}

// Report is one raw report as received.
type Report struct {
	ID         int64
	SHA256     string // hex, of the decompressed content
	Name       string // file name as given
	Feed       string
	Type       string // report type, e.g. Shadowserver's "scan_ssl"; may be ""
	Size       int64  // bytes, decompressed
	ReceivedAt time.Time
	Totals     Totals // filled in when read back
}

// Totals counts what one report added.
type Totals struct {
	Events      int64 // new events
	Duplicates  int64 // records that matched an existing event
	Quarantined int64
}

// Added counts what one Add call did.
type Added struct {
	Events     int
	Duplicates int
}

// Part is a deduplication partition: an event's key is unique within it.
type Part struct {
	Feed   string
	Type   string // classification.type
	Bucket int64  // start of the deduplication window, Unix seconds
}

// Record is one event ready to store.
type Record struct {
	Part     Part
	Key      uint64 // identity of the event within Part
	Time     int64  // time.source (else time.observation), Unix seconds
	SourceIP string // source.ip as text, "" when none; for filtering
	Org      string // the owner organisation's ID, "" when none; for filtering
	Line     int    // line of the report the event was parsed from
	Doc      []byte // the event, encoded by the event package; opaque to the store
}

// Event is a stored event.
type Event struct {
	ID        int64
	Feed      string
	Type      string
	Key       uint64 // identity within its partition (Record.Key): the same in every window
	Count     int64  // how many times it was reported
	FirstSeen time.Time
	LastSeen  time.Time
	ReportID  int64
	Line      int
	Doc       []byte // as stored: event.AppendBinaryDelta against Base
	Base      []byte // the report's base (Tx.SetBase); nil when it has none. Shared between events: read only
	Org       string // the owner organisation's ID; set by EventsByOrg only
}

// OrgEvents is implemented by stores that read the events of every
// organisation in one pass, in order of organisation: the notifier reads
// a whole constituency, and one query per organisation reads the table
// in random order, a page per event, while the notifier's own writes keep
// emptying the page cache.
type OrgEvents interface {
	// EventsByOrg yields the events that have an owner and were last seen
	// at or after since (all, when since is zero), ordered by owner
	// (Event.Org) and then by ID. It reads one snapshot of the store.
	EventsByOrg(ctx context.Context, since time.Time) iter.Seq2[*Event, error]
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	Feed    string
	Type    string
	IP      string    // source.ip, exact
	Org     string    // owner organisation ID, exact
	Since   time.Time // last seen at or after
	AfterID int64     // IDs greater than this
	Limit   int       // at most this many; 0 means no limit
}

// Quarantined is a row that could not be turned into an event.
type Quarantined struct {
	ID       int64
	ReportID int64 // filled in by the store
	File     string
	Feed     string
	Line     int
	Reason   string
	Raw      []byte
	At       time.Time
}

// QuarantineFilter selects quarantined rows.
type QuarantineFilter struct {
	Feed  string
	Limit int
}
