package shadowserver

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tocsin/tocsin/internal/event"
)

// fuzzReports are the report types FuzzParse reads its input as: together
// they use every whole-row conversion, force_base64, the exchange
// classification and CVE extraction.
var fuzzReports = []string{"scan_ssl", "event4_sinkhole_http", "compromised_website", "scan_exchange", "event4_honeypot_http_scan", "blocklist"}

// checkOutput is a parse.Output that checks every event it is given.
type checkOutput struct{ t *testing.T }

func (c checkOutput) Event(e *event.Event, line int) error {
	b := e.AppendJSON(nil)
	if !json.Valid(b) {
		c.t.Fatalf("line %d: invalid JSON %s", line, b)
	}
	var back event.Event
	if err := back.UnmarshalJSON(b); err != nil {
		c.t.Fatalf("line %d: %s does not read back: %v", line, b, err)
	}
	if b2 := back.AppendJSON(nil); !bytes.Equal(b, b2) {
		c.t.Fatalf("line %d: JSON changes when read back:\n%s\n%s", line, b, b2)
	}
	if err := back.Validate(); err != nil {
		c.t.Fatalf("line %d: event read back is invalid: %v", line, err)
	}
	if line < 2 {
		c.t.Fatalf("event from line %d, the header's", line)
	}
	return nil
}

func (c checkOutput) Reject(line int, raw []byte, reason error) error {
	if reason == nil || line < 2 {
		c.t.Fatalf("reject at line %d with reason %v", line, reason)
	}
	return nil
}

func FuzzParse(f *testing.F) {
	for i, typ := range fuzzReports {
		if data, err := os.ReadFile(filepath.Join(samplesDir, typ+".csv")); err == nil {
			f.Add(uint8(i), data)
		}
		r := Embedded().Report(typ)
		var h bytes.Buffer
		seen := map[string]bool{}
		for _, m := range r.mappings {
			if seen[m.column] {
				continue
			}
			if len(seen) > 0 {
				h.WriteByte(',')
			}
			seen[m.column] = true
			h.WriteString(m.column)
		}
		f.Add(uint8(i), []byte(h.String()+"\n"))
	}
	f.Add(uint8(0), []byte("timestamp,ip,port\n2024-01-01 00:00:00,192.0.2.1,443\n"))
	p := New(nil)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := fuzzReports[int(which)%len(fuzzReports)]
		_ = p.Parse(context.Background(), input("fuzz.csv", typ, data), checkOutput{t})
	})
}
