package shadowserver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
)

func miniParser(t *testing.T) parse.Parser {
	t.Helper()
	s, err := LoadSchema(strings.NewReader(miniSchema))
	if err != nil {
		t.Fatal(err)
	}
	return New(s)
}

const miniHeader = "timestamp,ip,port,protocol,hostname,asn,geo,tag,size,up,secret,seen,sic\n"

// TestRows checks how one row of the mini schema becomes an event or a
// rejection.
func TestRows(t *testing.T) {
	tests := []struct {
		name string
		row  string
		want map[string]any // field -> JSON value; "" means absent
		// reject is what the rejection's reason contains; "" means an event.
		reject string
	}{
		{
			name: "every field",
			row:  "2024-07-04 01:02:03,192.0.2.1,443,TCP,Host.Example.,64500,se,ssl;cve-2024-2;CVE-2023-1;cve-2024-2,17,yes,hidden,\"Wed, 10 Feb 2010 00:00:01 GMT\",0",
			want: map[string]any{
				"time.source": "2024-07-04T01:02:03+00:00", "source.ip": "192.0.2.1", "source.port": int64(443),
				"protocol.transport": "tcp", "source.reverse_dns": "host.example", "source.asn": int64(64500),
				"source.geolocation.cc": "SE", "extra.tag": "ssl;cve-2024-2;CVE-2023-1;cve-2024-2",
				"product.vulnerabilities": "cve-2023-1,cve-2024-2", "extra.answer": int64(17), "extra.up": true,
				"extra.seen": "2010-02-10T00:00:01+00:00", "extra.secret": "", "extra.sic": "0",
				"classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system",
				"classification.identifier": "open-x", "protocol.application": "x",
				"feed.name": "shadowserver", "feed.code": "Accessible-X", "feed.provider": "Shadowserver",
				"time.observation": "2026-01-02T03:04:05+00:00",
			},
		},
		{
			name: "empty and None values set nothing",
			row:  "2024-07-04 01:02:03,192.0.2.1,,,,0,,0,,maybe,,not a date,",
			want: map[string]any{
				"source.port": "", "protocol.transport": "", "source.asn": "", "extra.tag": "",
				"product.vulnerabilities": "", "extra.answer": "", "extra.up": "", "extra.seen": "", "extra.sic": "",
				// invalidate_zero and validate_to_none drop "0" and a bad
				// date for good, as IntelMQ does.
				"extra.asn": "", "extra.size": "", "extra.port": "",
			},
		},
		{
			name: "IntelMQ's ignored values",
			row:  "2024-07-04 01:02:03,192.0.2.1,443,-,N/A,,,,,,,,",
			want: map[string]any{"protocol.transport": "", "source.reverse_dns": "", "extra.protocol": "", "extra.hostname": ""},
		},
		{
			name: "an optional value the field refuses goes to extra under its column",
			row:  "2024-07-04 01:02:03,192.0.2.1,443,tcp,bad host name,,SWE,,,,,,",
			want: map[string]any{"source.reverse_dns": "", "extra.hostname": "bad host name", "source.geolocation.cc": "", "extra.geo": "SWE"},
		},
		{
			name: "required 0.0.0.0 is no address: the cell stays in extra",
			row:  "2024-07-04 01:02:03,0.0.0.0,443,,,,,,,,,,",
			want: map[string]any{"source.ip": "", "extra.ip": "0.0.0.0"},
		},
		{
			name:   "required value refused by the field",
			row:    "yesterday,192.0.2.1,443,,,,,,,,,,",
			reject: `column timestamp "yesterday": time.source: "yesterday" is not a date`,
		},
		{
			name:   "required value the conversion cannot convert",
			row:    "2024-07-04 01:02:03,192.0.2.1,https,,,,,,,,,,",
			reject: `column port "https": convert_int: "https" is not an integer`,
		},
		{
			name:   "required value out of range",
			row:    "2024-07-04 01:02:03,192.0.2.1,70000,,,,,,,,,,",
			reject: `column port "70000": source.port: 70000 is outside 0-65535`,
		},
		{
			name:   "optional value the conversion cannot convert",
			row:    "2024-07-04 01:02:03,192.0.2.1,443,,,AS64500,,,,,,,",
			reject: `column asn "AS64500": invalidate_zero: "AS64500" is not an integer`,
		},
		{
			name: "too few fields: the missing cells are empty",
			row:  "2024-07-04 01:02:03,192.0.2.1,443",
			want: map[string]any{"source.ip": "192.0.2.1", "source.port": int64(443)},
		},
		{
			name:   "too many fields",
			row:    "2024-07-04 01:02:03,192.0.2.1,443,,,,,,,,,,,extra",
			reject: "the row has 14 fields, the header has 13",
		},
	}
	p := miniParser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			data := miniHeader + tt.row + "\n"
			if err := p.Parse(context.Background(), input("2024-07-04-scan_x-test.csv", "", []byte(data)), &rec); err != nil {
				t.Fatal(err)
			}
			if tt.reject != "" {
				if len(rec.rejects) != 1 || len(rec.events) != 0 {
					t.Fatalf("%d events, %d rejects %+v; want one reject", len(rec.events), len(rec.rejects), rec.rejects)
				}
				r := rec.rejects[0]
				if r.line != 2 || r.raw != tt.row || !strings.Contains(r.reason, tt.reject) {
					t.Errorf("reject = line %d %q: %s; want line 2 of the row: %s", r.line, r.raw, r.reason, tt.reject)
				}
				return
			}
			if len(rec.events) != 1 {
				t.Fatalf("%d events, rejects %+v", len(rec.events), rec.rejects)
			}
			e := &rec.events[0]
			if rec.lines[0] != 2 || string(e.Raw) != tt.row {
				t.Errorf("line %d raw %q", rec.lines[0], e.Raw)
			}
			for name, want := range tt.want {
				got, ok := e.Get(name)
				if want == "" {
					if ok {
						t.Errorf("%s = %#v, want it absent", name, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("%s = %#v, want %#v", name, got, want)
				}
			}
		})
	}
}

func TestParseReport(t *testing.T) {
	p := miniParser(t)
	parseText := func(data string) (*recorder, error) {
		var rec recorder
		err := p.Parse(context.Background(), input("scan_x.csv", "", []byte(data)), &rec)
		return &rec, err
	}
	t.Run("multi-line record gives its first line", func(t *testing.T) {
		data := "\uFEFF" + miniHeader +
			"2024-07-04 01:02:03,192.0.2.1,443,,,,,\"a\nb\nc\",,,,,\n" +
			"2024-07-04 01:02:03,192.0.2.2,443,,,,,,,,,,\n" +
			"2024-07-04 01:02:03,192.0.2.3,99999,,,,,\"x\ny\",,,,,\n"
		rec, err := parseText(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.lines) != 2 || rec.lines[0] != 2 || rec.lines[1] != 5 {
			t.Errorf("event lines %v, want [2 5]", rec.lines)
		}
		if len(rec.rejects) != 1 || rec.rejects[0].line != 6 {
			t.Errorf("rejects %+v, want one at line 6", rec.rejects)
		}
		if got := rec.events[0].Extra["tag"]; got != "a\nb\nc" {
			t.Errorf("extra.tag = %q", got)
		}
	})
	t.Run("header only", func(t *testing.T) {
		rec, err := parseText(miniHeader)
		if err != nil || len(rec.events)+len(rec.rejects) != 0 {
			t.Errorf("%v, %+v", err, rec)
		}
	})
	t.Run("empty report", func(t *testing.T) {
		if _, err := parseText(""); err == nil || !strings.Contains(err.Error(), "no header line") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("required column missing from an older report", func(t *testing.T) {
		if _, err := parseText("timestamp,ip,protocol\n2024-07-04 01:02:03,192.0.2.1,tcp\n"); err != nil {
			t.Errorf("err = %v, want the report read without the port", err)
		}
	})
	t.Run("required columns missing: another format", func(t *testing.T) {
		_, err := parseText("first_seen_utc,dst_ip,dst_port\n2024-07-04 01:02:03,192.0.2.1,443\n")
		if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), `required column "timestamp"`) || !strings.Contains(err.Error(), "first_seen_utc,dst_ip,dst_port") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("column named twice", func(t *testing.T) {
		_, err := parseText("timestamp,ip,port,ip\n")
		if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), `column "ip" is named twice`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("optional columns may be missing; unnamed ones are kept", func(t *testing.T) {
		rec, err := parseText("timestamp,ip,port,\n2024-07-04 01:02:03,192.0.2.1,443,x\n")
		if err != nil || len(rec.events) != 1 {
			t.Fatalf("%v %+v", err, rec.rejects)
		}
		if got := rec.events[0].Extra["column4"]; got != "x" {
			t.Errorf("extra.column4 = %v", got)
		}
	})
	t.Run("invalid UTF-8 is replaced", func(t *testing.T) {
		rec, err := parseText(miniHeader + "2024-07-04 01:02:03,192.0.2.1,443,,,,,a\xffb,,,,,\n")
		if err != nil || len(rec.events) != 1 {
			t.Fatalf("%v %+v", err, rec.rejects)
		}
		if got := rec.events[0].Extra["tag"]; got != "a\uFFFDb" {
			t.Errorf("extra.tag = %q", got)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var rec recorder
		err := p.Parse(ctx, input("scan_x.csv", "", []byte(miniHeader)), &rec)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("an output error stops the parse", func(t *testing.T) {
		stop := errors.New("stop")
		out := outputFunc(func(*event.Event, int) error { return stop })
		err := p.Parse(context.Background(), input("scan_x.csv", "", []byte(miniHeader+"2024-07-04 01:02:03,192.0.2.1,443,,,,,,,,,,\n")), out)
		if !errors.Is(err, stop) {
			t.Errorf("err = %v", err)
		}
	})
}

type outputFunc func(*event.Event, int) error

func (f outputFunc) Event(e *event.Event, line int) error { return f(e, line) }
func (f outputFunc) Reject(int, []byte, error) error      { return nil }

// The feed's own defaults (TLP, constants) reach every event; the schema's
// constants win over the feed's.
func TestFeedDefaults(t *testing.T) {
	f := *feed.Builtin()["shadowserver"]
	f.TLP = "amber"
	f.Constant = map[string]string{"comment": "from the config", "protocol.application": "mine"}
	var rec recorder
	in := input("scan_x.csv", "", []byte(miniHeader+"2024-07-04 01:02:03,192.0.2.1,443,,,,,,,,,,\n"))
	in.Feed = &f
	if err := miniParser(t).Parse(context.Background(), in, &rec); err != nil || len(rec.events) != 1 {
		t.Fatalf("%v %+v", err, rec.rejects)
	}
	e := rec.events[0]
	if e.TLP != "AMBER" || e.Comment != "from the config" || e.Protocol.Application != "x" {
		t.Errorf("tlp %q comment %q protocol.application %q", e.TLP, e.Comment, e.Protocol.Application)
	}
}

// A required value its conversion drops leaves the field unset and stays in
// extra under its column's name, as in IntelMQ.
func TestRequiredNoneGoesToExtra(t *testing.T) {
	s, err := LoadSchema(strings.NewReader(`{"x": {"feed_name": "X", "file_name": "x",
 "required_fields": [["source.ip", "ip", "validate_ip"]],
 "optional_fields": [["source.fqdn", "host", "validate_fqdn"]],
 "constant_fields": {"classification.type": "scanner"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	if err := New(s).Parse(context.Background(), input("x.csv", "", []byte("ip,host\n0.0.0.0,example.com\n")), &rec); err != nil || len(rec.events) != 1 {
		t.Fatalf("%v %+v", err, rec.rejects)
	}
	e := rec.events[0]
	if e.Source.IP.IsValid() || e.Extra["ip"] != "0.0.0.0" || e.Source.FQDN != "example.com" || e.Classification.Taxonomy != "information-gathering" {
		t.Errorf("source.ip %v extra.ip %v fqdn %q taxonomy %q", e.Source.IP, e.Extra["ip"], e.Source.FQDN, e.Classification.Taxonomy)
	}
}

func TestBadFeedDefaults(t *testing.T) {
	f := *feed.Builtin()["shadowserver"]
	f.TLP = "purple"
	var rec recorder
	in := input("scan_x.csv", "", []byte(miniHeader+"2024-07-04 01:02:03,192.0.2.1,443,,,,,,,,,,\n"))
	in.Feed = &f
	err := miniParser(t).Parse(context.Background(), in, &rec)
	if err == nil || !strings.Contains(err.Error(), "feed shadowserver") || !strings.Contains(err.Error(), "purple") || len(rec.rejects) != 0 {
		t.Errorf("err = %v, %d rejects", err, len(rec.rejects))
	}
}

// Two report types of the schema map no column to a source or destination
// address (ransomware_victim keeps the victim's website in extra,
// sandbox_dns the queried name). Their rows are still events: what they
// name is in extra and the country.
func TestReportTypesWithoutAddress(t *testing.T) {
	data := "timestamp,entity_name,website,geo,region,sector,date_published,ransomware,leak_site_url,severity,actor_geo_stats_30d,actor_total_stats_30d\n" +
		"2025-01-02 03:04:05,Example Ltd,example.com,SE,STOCKHOLM,Retail,2025-01-01,lockbit,http://leak.example,critical,3,40\n"
	rec, err := run(t, "2025-01-02-ransomware_victim-se.csv", "", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 1 || len(rec.rejects) != 0 {
		t.Fatalf("events %d, rejects %+v", len(rec.events), rec.rejects)
	}
	if got := string(rec.events[0].AppendJSON(nil)); !strings.Contains(got, `"extra.website":"example.com"`) || !strings.Contains(got, `"source.geolocation.cc":"SE"`) {
		t.Errorf("event %s", got)
	}
}
