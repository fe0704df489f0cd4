// Package cowrie reads the JSON log of the Cowrie SSH and Telnet honeypot
// (format "cowrie", one JSON object per line, as Cowrie's jsonlog output
// writes it; event ids after https://docs.cowrie.org/en/latest/OUTPUT.html).
//
// Cowrie logs one line per thing that happens in a session; a CSIRT wants
// one event per attacker and session. The parser therefore aggregates the
// lines of a session (keyed by sensor and session id) and emits one event
// when the session closes (cowrie.session.closed), when too many sessions
// are open (the oldest is emitted first) or at the end of the report (the
// sessions still open, oldest first). The event's line is the line of the
// session's first record.
//
// # Classification
//
// A session with a login attempt, successful or not, is
// intrusion-attempts/brute-force (or the feed's own classification, when the
// feed names one): the honeypot is a fake system, so a "successful" login
// compromised nothing, and the event is about the source, a host that
// guesses passwords on other people's machines. This is how the CSIRT feeds
// built on honeypots classify it: Shadowserver's Honeypot-Brute-Force-Events
// report and IntelMQ's mapping of it (intrusion-attempts/brute-force, with
// commands and payload URLs as extra data), and DShield's SSH/Telnet reports.
// What happened after the login (commands, downloads, port-forwarding
// requests) is kept in extra.* for the analyst and the notification.
// A session without any login attempt (a bare connection, a version or key
// exchange probe) is information-gathering/scanner.
//
// # Fields
//
//   - source.ip, source.port: src_ip, src_port of cowrie.session.connect
//   - destination.ip, destination.port: dst_ip, dst_port of the honeypot
//   - protocol.transport: tcp; protocol.application: ssh or telnet (the
//     connect line's protocol, else told from the client version or port)
//   - time.source: the session's first timestamp
//   - extra.session, extra.sensor: Cowrie's session id and sensor name
//   - extra.login_attempts: number of login attempts (failed and successful)
//   - extra.login_success: whether a login succeeded
//   - extra.usernames: the distinct user names tried, in order
//   - extra.commands: the command lines typed, in order
//   - extra.download_urls, extra.download_shasums: files fetched into the
//     honeypot (wget, curl, tftp, ...) and their SHA-256; failed downloads'
//     URLs are listed too, since the attacker pointed at them
//   - extra.upload_filenames, extra.upload_shasums: files sent by SCP/SFTP
//   - extra.tunnel_requests: "host:port" targets of direct-tcpip
//     (port forwarding) requests, the honeypot used as a proxy
//   - extra.client_version, extra.hassh: the SSH client's identification
//     string and HASSH fingerprint
//   - extra.duration: the session's length in seconds, as Cowrie says
//   - extra.truncated: true when a list or the raw lines hit their cap
//   - raw: the session's lines, up to a cap
//
// Passwords are not kept, only counted in extra.login_attempts: most are
// dictionary words, but a honeypot also receives real credentials (a user
// who mistyped an address, an attacker trying stolen ones), and events go
// to constituents, to sharing partners and into statistics. The JSON lines
// the honeypot wrote stay the place to look them up.
//
// Memory stays bounded: at most MaxSessions sessions and MaxBytes of
// session data are held; each list keeps at most MaxList entries and each
// entry at most maxItemLen bytes.
package cowrie

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// Defaults of the Parser limits.
const (
	DefaultMaxSessions = 100_000
	DefaultMaxBytes    = 256 << 20
	DefaultMaxList     = 100
	// maxItemLen bounds one command, URL or name kept in a list.
	maxItemLen = 1 << 10
	// maxRawLen bounds the raw lines kept per session.
	maxRawLen = 16 << 10
	// maxLineLen bounds one line of the log; longer lines are rejected.
	maxLineLen = 1 << 20
	// sessionOverhead approximates a session's fixed memory, for MaxBytes.
	sessionOverhead = 512
)

// Parser reads Cowrie JSON logs. The zero Parser uses the default limits.
type Parser struct {
	// MaxSessions caps the sessions open at once; when a new one would
	// exceed it, the oldest is emitted as it stands. 0 means
	// DefaultMaxSessions.
	MaxSessions int
	// MaxBytes caps the approximate memory of the open sessions, likewise.
	// 0 means DefaultMaxBytes.
	MaxBytes int
	// MaxList caps each list of a session (usernames, commands, URLs, ...).
	// 0 means DefaultMaxList.
	MaxList int
}

// New returns a Parser with the default limits.
func New() parse.Parser { return &Parser{} }

// record is the part of a Cowrie line the parser reads. Ports and the
// duration are json.Number, which takes a JSON number or a string holding
// one (some Cowrie versions and log shippers write them as strings).
type record struct {
	EventID   string      `json:"eventid"`
	Session   string      `json:"session"`
	Sensor    string      `json:"sensor"`
	Timestamp string      `json:"timestamp"`
	SrcIP     string      `json:"src_ip"`
	SrcPort   json.Number `json:"src_port"`
	DstIP     string      `json:"dst_ip"`
	DstPort   json.Number `json:"dst_port"`
	Protocol  string      `json:"protocol"`
	Username  string      `json:"username"`
	Input     string      `json:"input"`
	URL       string      `json:"url"`
	Shasum    string      `json:"shasum"`
	Filename  string      `json:"filename"`
	Version   string      `json:"version"`
	Hassh     string      `json:"hassh"`
	Duration  json.Number `json:"duration"`
}

type sessionKey struct{ sensor, id string }

// session is what the parser remembers of one open session.
type session struct {
	key        sessionKey
	line       int
	start      time.Time
	srcIP      netip.Addr
	srcPort    event.Opt[uint16]
	dstIP      netip.Addr
	dstPort    event.Opt[uint16]
	protocol   string
	connected  bool // a cowrie.session.connect line was seen
	active     bool // a line other than connect/closed/log.closed was seen
	closed     bool
	version    string
	hassh      string
	attempts   int64
	success    bool
	usernames  []any
	commands   []any
	downloads  []any
	dlShasums  []any
	upFiles    []any
	upShasums  []any
	tunnels    []any
	duration   event.Opt[float64]
	truncated  bool
	raw        []byte
	size       int
	prev, next *session
}

// run is the state of one Parse call.
type run struct {
	p        *Parser
	in       *parse.Input
	out      parse.Output
	e        event.Event
	open     map[sessionKey]*session
	head     *session // oldest open session
	tail     *session // newest
	bytes    int
	free     []*session
	rec      record
	maxSess  int
	maxBytes int
	maxList  int
}

// Parse reads in line by line. A line that is not a JSON object, or names no
// session, is rejected with its line number; the rest goes on.
func (p *Parser) Parse(ctx context.Context, in parse.Input, out parse.Output) error {
	r := &run{p: p, in: &in, out: out, open: make(map[sessionKey]*session),
		maxSess: p.MaxSessions, maxBytes: p.MaxBytes, maxList: p.MaxList}
	if r.maxSess <= 0 {
		r.maxSess = DefaultMaxSessions
	}
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxBytes
	}
	if r.maxList <= 0 {
		r.maxList = DefaultMaxList
	}
	// The feed's defaults are the same for every event: a bad one is a
	// problem of the whole report, not of a session.
	if err := parse.Begin(&r.e, r.in); err != nil {
		return fmt.Errorf("parse cowrie: feed %q: %w", in.Feed.Name, err)
	}
	sc := textreport.NewScanner(in.R, maxLineLen)
	for sc.Scan() {
		line, n := sc.Bytes(), sc.Line()
		if err := sc.TooLong(); err != nil {
			if err := out.Reject(n, line, err); err != nil {
				return err
			}
			continue
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(line) == 0 {
			continue
		}
		if err := r.line(line, n); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("parse cowrie: line %d: %w", sc.Line(), err)
	}
	for r.head != nil {
		if err := r.emit(r.head); err != nil {
			return err
		}
	}
	return nil
}

// line takes one non-empty line.
func (r *run) line(line []byte, n int) error {
	r.rec = record{}
	if err := json.Unmarshal(line, &r.rec); err != nil {
		return r.out.Reject(n, line, fmt.Errorf("not a Cowrie JSON record: %w", jsonError(err)))
	}
	rec := &r.rec
	if rec.EventID == "" {
		return r.out.Reject(n, line, errors.New("the record has no eventid"))
	}
	if rec.Session == "" {
		return r.out.Reject(n, line, fmt.Errorf("the %s record has no session", rec.EventID))
	}
	var ts time.Time
	if rec.Timestamp != "" {
		t, err := event.ParseTime(rec.Timestamp)
		if err != nil {
			return r.out.Reject(n, line, fmt.Errorf("timestamp: %w", err))
		}
		ts = t
	}
	var srcIP netip.Addr
	if rec.SrcIP != "" {
		a, err := event.ParseIP(rec.SrcIP)
		if err != nil {
			return r.out.Reject(n, line, fmt.Errorf("src_ip: %w", err))
		}
		srcIP = a
	}
	// Everything that can be wrong with the line is checked before the
	// session changes, so a rejected line leaves no trace in the event.
	var c connectInfo
	var duration event.Opt[float64]
	switch rec.EventID {
	case "cowrie.session.connect":
		var err error
		if c, err = parseConnect(rec); err != nil {
			return r.out.Reject(n, line, fmt.Errorf("%s: %w", rec.EventID, err))
		}
	case "cowrie.session.closed":
		if rec.Duration != "" {
			d, err := strconv.ParseFloat(rec.Duration.String(), 64)
			if err != nil || d < 0 || math.IsInf(d, 0) {
				return r.out.Reject(n, line, fmt.Errorf("%s: duration %q is not a number of seconds", rec.EventID, rec.Duration))
			}
			duration = event.Some(d)
		}
	}

	key := sessionKey{rec.Sensor, rec.Session}
	s := r.open[key]
	if s == nil {
		if err := r.makeRoom(1); err != nil {
			return err
		}
		s = r.newSession(key, n, ts)
	}
	if !s.srcIP.IsValid() && srcIP.IsValid() {
		s.srcIP = srcIP
	}
	if s.start.IsZero() {
		s.start = ts
	}
	switch rec.EventID {
	case "cowrie.session.connect":
		r.connect(s, &c, rec.Protocol)
	case "cowrie.login.failed", "cowrie.login.success":
		s.active = true
		s.attempts++
		if rec.EventID == "cowrie.login.success" {
			s.success = true
		}
		if rec.Username != "" && !containsString(s.usernames, rec.Username) {
			s.usernames = r.add(s, s.usernames, rec.Username)
		}
	case "cowrie.command.input":
		s.active = true
		s.commands = r.add(s, s.commands, rec.Input)
	case "cowrie.session.file_download", "cowrie.session.file_download.failed":
		s.active = true
		if rec.URL != "" && !containsString(s.downloads, rec.URL) {
			s.downloads = r.add(s, s.downloads, rec.URL)
		}
		if rec.Shasum != "" && !containsString(s.dlShasums, rec.Shasum) {
			s.dlShasums = r.add(s, s.dlShasums, rec.Shasum)
		}
	case "cowrie.session.file_upload":
		s.active = true
		if rec.Filename != "" {
			s.upFiles = r.add(s, s.upFiles, rec.Filename)
		}
		if rec.Shasum != "" && !containsString(s.upShasums, rec.Shasum) {
			s.upShasums = r.add(s, s.upShasums, rec.Shasum)
		}
	case "cowrie.direct-tcpip.request":
		// src_* and dst_* here are the forwarding request's, not the
		// session's endpoints.
		s.active = true
		if rec.DstIP != "" {
			target := rec.DstIP
			if rec.DstPort != "" {
				target = joinHostPort(rec.DstIP, rec.DstPort.String())
			}
			if !containsString(s.tunnels, target) {
				s.tunnels = r.add(s, s.tunnels, target)
			}
		}
	case "cowrie.client.version":
		s.active = true
		if s.version == "" {
			s.version = r.item(s, cleanVersion(rec.Version))
		}
	case "cowrie.client.kex":
		s.active = true
		if s.hassh == "" {
			s.hassh = r.item(s, rec.Hassh)
		}
	case "cowrie.session.closed":
		s.duration = duration
		s.closed = true
	case "cowrie.log.closed":
		// The TTY log's end, just before the session's: nothing to keep.
	default:
		// cowrie.command.failed and .success repeat a command.input line;
		// client.size, client.var, client.fingerprint, session.params,
		// direct-tcpip.data and the rest are detail the event does not
		// carry, but they do show the session was more than a probe.
		s.active = true
	}
	r.keepRaw(s, line)
	if s.closed {
		return r.emit(s)
	}
	return r.makeRoom(0)
}

// connectInfo is what cowrie.session.connect says of the session.
type connectInfo struct {
	srcPort, dstPort event.Opt[uint16]
	dstIP            netip.Addr
}

func parseConnect(rec *record) (connectInfo, error) {
	var c connectInfo
	if rec.SrcPort != "" {
		p, err := parsePort(rec.SrcPort)
		if err != nil {
			return c, fmt.Errorf("src_port: %w", err)
		}
		c.srcPort = event.Some(p)
	}
	if rec.DstIP != "" {
		a, err := event.ParseIP(rec.DstIP)
		if err != nil {
			return c, fmt.Errorf("dst_ip: %w", err)
		}
		c.dstIP = a
	}
	if rec.DstPort != "" {
		p, err := parsePort(rec.DstPort)
		if err != nil {
			return c, fmt.Errorf("dst_port: %w", err)
		}
		c.dstPort = event.Some(p)
	}
	return c, nil
}

// connect records the first connect line of s.
func (r *run) connect(s *session, c *connectInfo, protocol string) {
	if s.connected {
		return
	}
	s.connected = true
	s.srcPort, s.dstPort, s.dstIP = c.srcPort, c.dstPort, c.dstIP
	if protocol != "" {
		s.protocol = r.item(s, strings.ToLower(protocol))
	}
}

func parsePort(n json.Number) (uint16, error) {
	v, err := strconv.ParseUint(n.String(), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", n)
	}
	return uint16(v), nil
}

// joinHostPort writes host:port, bracketing IPv6 addresses.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// cleanVersion strips the quotes some Cowrie versions put around the SSH
// identification string ("'SSH-2.0-Go'", "b'SSH-2.0-Go'").
func cleanVersion(v string) string {
	v = strings.TrimPrefix(v, "b'")
	v = strings.TrimPrefix(v, "'")
	return strings.TrimSuffix(v, "'")
}

func containsString(list []any, s string) bool {
	for _, x := range list {
		if x.(string) == s {
			return true
		}
	}
	return false
}

// item bounds one string kept in s and counts it against the budget.
func (r *run) item(s *session, v string) string {
	if len(v) > maxItemLen {
		cut := maxItemLen
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = strings.Clone(v[:cut]) // do not keep the whole line alive
		s.truncated = true
	}
	s.size += len(v) + 16
	r.bytes += len(v) + 16
	return v
}

// add appends v to a list of s, within the list cap.
func (r *run) add(s *session, list []any, v string) []any {
	if len(list) >= r.maxList {
		s.truncated = true
		return list
	}
	return append(list, r.item(s, v))
}

func (r *run) keepRaw(s *session, line []byte) {
	need := len(line)
	if len(s.raw) > 0 {
		need++
	}
	if len(s.raw)+need > maxRawLen {
		s.truncated = true
		return
	}
	if len(s.raw) > 0 {
		s.raw = append(s.raw, '\n')
	}
	s.raw = append(s.raw, line...)
	s.size += need
	r.bytes += need
}

func (r *run) newSession(key sessionKey, line int, ts time.Time) *session {
	var s *session
	if n := len(r.free); n > 0 {
		s = r.free[n-1]
		r.free = r.free[:n-1]
		raw := s.raw[:0]
		*s = session{raw: raw}
	} else {
		s = &session{}
	}
	s.key, s.line, s.start = key, line, ts
	s.size = sessionOverhead
	r.bytes += s.size
	r.open[key] = s
	// Append at the tail: the list is in order of first appearance.
	s.prev = r.tail
	if r.tail != nil {
		r.tail.next = s
	} else {
		r.head = s
	}
	r.tail = s
	return s
}

// makeRoom emits the oldest sessions while the limits are exceeded, or
// would be by extra more sessions.
func (r *run) makeRoom(extra int) error {
	for r.head != nil && (len(r.open)+extra > r.maxSess || r.bytes > r.maxBytes) {
		if err := r.emit(r.head); err != nil {
			return err
		}
	}
	return nil
}

// remove unlinks s and keeps it for reuse.
func (r *run) remove(s *session) {
	delete(r.open, s.key)
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		r.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		r.tail = s.prev
	}
	r.bytes -= s.size
	// The lists went out with the event; the receiver may keep them.
	raw := s.raw
	*s = session{raw: raw[:0]}
	if len(r.free) < 1024 && cap(raw) <= maxRawLen {
		r.free = append(r.free, s)
	}
}

// errOrphan rejects the tail of a session whose start was in another report.
var errOrphan = errors.New("the session's records name no source and show nothing but its end (its start is in an earlier report)")

// emit turns s into an event, hands it on and forgets s.
func (r *run) emit(s *session) error {
	defer r.remove(s)
	if !s.connected && !s.active {
		return r.out.Reject(s.line, s.raw, errOrphan)
	}
	if !s.srcIP.IsValid() {
		return r.out.Reject(s.line, s.raw, fmt.Errorf("session %s has no src_ip", s.key.id))
	}
	e := &r.e
	if err := parse.Begin(e, r.in); err != nil {
		return fmt.Errorf("parse cowrie: feed %q: %w", r.in.Feed.Name, err)
	}
	e.TimeSource = s.start
	e.Source.IP = s.srcIP
	e.Source.Port = s.srcPort
	e.Destination.IP = s.dstIP
	e.Destination.Port = s.dstPort
	e.Protocol.Transport = "tcp"
	e.Protocol.Application = s.application()
	if s.attempts > 0 || len(s.commands) > 0 || len(s.downloads) > 0 || len(s.upFiles) > 0 || len(s.upShasums) > 0 || len(s.tunnels) > 0 {
		if e.Classification.Type == "" {
			e.Classification.Taxonomy, e.Classification.Type = "intrusion-attempts", "brute-force"
		}
	} else {
		e.Classification.Taxonomy, e.Classification.Type = "information-gathering", "scanner"
	}
	e.SetExtra("session", s.key.id)
	if s.key.sensor != "" {
		e.SetExtra("sensor", s.key.sensor)
	}
	if s.attempts > 0 {
		e.SetExtra("login_attempts", s.attempts)
		e.SetExtra("login_success", s.success)
	}
	list := func(name string, l []any) {
		if len(l) > 0 {
			e.SetExtra(name, l)
		}
	}
	list("usernames", s.usernames)
	list("commands", s.commands)
	list("download_urls", s.downloads)
	list("download_shasums", s.dlShasums)
	list("upload_filenames", s.upFiles)
	list("upload_shasums", s.upShasums)
	list("tunnel_requests", s.tunnels)
	if s.version != "" {
		e.SetExtra("client_version", s.version)
	}
	if s.hassh != "" {
		e.SetExtra("hassh", s.hassh)
	}
	if s.duration.Set {
		e.SetExtra("duration", s.duration.V)
	}
	if s.truncated {
		e.SetExtra("truncated", true)
	}
	e.Raw = s.raw
	defer func() { e.Raw = nil }() // s.raw is reused for another session
	if err := e.Validate(); err != nil {
		return r.out.Reject(s.line, s.raw, err)
	}
	return r.out.Event(e, s.line)
}

// application tells ssh from telnet: Cowrie's connect line says it; older
// logs are told by the client's SSH identification or the port.
func (s *session) application() string {
	switch s.protocol {
	case "ssh", "telnet":
		return s.protocol
	}
	if strings.HasPrefix(s.version, "SSH-") || s.hassh != "" {
		return "ssh"
	}
	switch s.dstPort {
	case event.Some[uint16](22), event.Some[uint16](2222):
		return "ssh"
	case event.Some[uint16](23), event.Some[uint16](2223):
		return "telnet"
	}
	return s.protocol
}

// jsonError shortens encoding/json's messages to what a user can act on.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("the line is a JSON %s, not an object", te.Value)
		}
		return fmt.Errorf("field %s holds a JSON %s, which Cowrie does not write there", te.Field, te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: "); ok {
		return errors.New(msg)
	}
	return err
}
