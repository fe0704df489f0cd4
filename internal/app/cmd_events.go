package app

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/store"
)

func cmdEvents(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "events", "", "Lists stored events, oldest first.")
	asJSON := fs.Bool("json", false, "one JSON object per line: the event's IntelMQ fields plus tocsin.id, tocsin.count, tocsin.first_seen, tocsin.last_seen")
	format := fs.String("format", "", "output format: intelmq (IntelMQ JSON lines, re-ingestable with --feed intelmq), json, or table (default)")
	limit := fs.Int("limit", 0, "print at most `N` events (0: all)")
	feedName := fs.String("feed", "", "only events of this feed")
	typ := fs.String("type", "", "only events of this classification type, e.g. infected-system")
	ip := fs.String("ip", "", "only events whose source.ip is this address")
	org := fs.String("org", "", "only events of this owner organisation `ID` (see tocsin constituents list): the source's owner, else the destination's")
	since := fs.String("since", "", "only events last seen at or after this `time` (RFC 3339, a date, or a duration like 24h or 7d)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin events: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	f := store.Filter{Feed: *feedName, Type: *typ, Limit: *limit}
	if *limit < 0 {
		fmt.Fprintln(env.Stderr, "tocsin events: --limit must be 0 or more")
		return exitUsage
	}
	if *ip != "" {
		a, err := event.ParseIP(*ip)
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin events: --ip: %v\n", err)
			return exitUsage
		}
		f.IP = a.String()
	}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin events: --since: %v\n", err)
			return exitUsage
		}
		f.Since = t
	}
	switch {
	case *asJSON && *format == "":
		*format = "json"
	case *format == "":
		*format = "table"
	}
	if *format != "json" && *format != "intelmq" && *format != "table" {
		fmt.Fprintf(env.Stderr, "tocsin events: --format %q: use intelmq, json or table\n", *format)
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin events: %v\n", err)
		return exitFail
	}
	defer a.Close()

	w := bufio.NewWriterSize(env.Stdout, 64<<10)
	defer w.Flush()
	var tw *tabwriter.Writer
	if *format == "table" {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLAST SEEN\tCOUNT\tFEED\tTYPE\tIDENTIFIER\tSOURCE\tPORT")
		defer tw.Flush()
	}
	if *org != "" {
		f.Org = *org
		if !strings.Contains(*org, ":") {
			f.Org = manualID(*org)
		}
	}
	var ev event.Event
	var buf []byte
	bases := baseCache{}
	for e, err := range a.Store.Events(ctx, f) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin events: %v\n", err)
			return exitFail
		}
		base, err := bases.get(e.ReportID, e.Base)
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin events: report %d: %v\n", e.ReportID, err)
			return exitFail
		}
		if err := ev.UnmarshalBinaryDelta(e.Doc, base); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin events: event %d: %v\n", e.ID, err)
			return exitFail
		}
		switch *format {
		case "intelmq":
			buf = ev.AppendJSON(buf[:0])
			buf = append(buf, '\n')
		case "json":
			buf = appendWithMeta(buf[:0], ev.AppendJSON(nil), e)
		case "table":
			src := subject(&ev.Source)
			port := ""
			if ev.Source.Port.Set {
				port = strconv.Itoa(int(ev.Source.Port.V))
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.LastSeen.Format(time.DateTime), e.Count, e.Feed, e.Type,
				ev.Classification.Identifier, src, port)
			continue
		}
		if _, err := w.Write(buf); err != nil {
			return exitFail
		}
	}
	return exitOK
}

// appendWithMeta writes the event's IntelMQ JSON with tocsin's own facts
// about it added as tocsin.* members, and a newline.
func appendWithMeta(dst, doc []byte, e *store.Event) []byte {
	if len(doc) < 2 || doc[len(doc)-1] != '}' {
		return append(append(dst, doc...), '\n')
	}
	dst = append(dst, doc[:len(doc)-1]...)
	if len(doc) > 2 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"tocsin.id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"tocsin.count":`...)
	dst = strconv.AppendInt(dst, e.Count, 10)
	dst = append(dst, `,"tocsin.first_seen":"`...)
	dst = event.AppendTime(dst, e.FirstSeen)
	dst = append(dst, `","tocsin.last_seen":"`...)
	dst = event.AppendTime(dst, e.LastSeen)
	dst = append(dst, `","tocsin.report_id":`...)
	dst = strconv.AppendInt(dst, e.ReportID, 10)
	dst = append(dst, `,"tocsin.line":`...)
	dst = strconv.AppendInt(dst, int64(e.Line), 10)
	return append(dst, '}', '\n')
}

// subject is what a table row shows of an endpoint: its address, else its
// host name, URL or network.
func subject(p *event.Endpoint) string {
	switch {
	case p.IP.IsValid():
		return p.IP.String()
	case p.FQDN != "":
		return p.FQDN
	case p.URL != "":
		return p.URL
	case p.Network.IsValid():
		return p.Network.String()
	}
	return ""
}

// parseSince reads an absolute time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			d = -d
		}
		return now.Add(-d), nil
	}
	if n, err := strconv.Atoi(s); err == nil && len(s) < 8 {
		return time.Time{}, fmt.Errorf("%q: give a time (2026-11-24 or RFC 3339) or a duration with a unit (%sh)", s, strconv.Itoa(n))
	}
	return event.ParseTime(s)
}

// baseCache keeps the parsed bases of the reports seen, by report ID.
type baseCache map[int64]*event.Base

func (c baseCache) get(report int64, b []byte) (*event.Base, error) {
	if b == nil {
		return nil, nil
	}
	if base, ok := c[report]; ok {
		return base, nil
	}
	if len(c) > 10000 {
		clear(c)
	}
	base, err := event.ParseBase(b)
	if err != nil {
		return nil, err
	}
	c[report] = base
	return base, nil
}
