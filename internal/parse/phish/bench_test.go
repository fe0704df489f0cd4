package phish

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
)

type countOutput struct{ events, rejects int }

func (c *countOutput) Event(*event.Event, int) error   { c.events++; return nil }
func (c *countOutput) Reject(int, []byte, error) error { c.rejects++; return nil }

func benchParser(b *testing.B, p parse.Parser, feedName string, data []byte) {
	f := feed.Builtin()[feedName]
	var out countOutput
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out = countOutput{}
		if err := p.Parse(context.Background(), parse.Input{R: bytes.NewReader(data), Feed: f, Now: testNow}, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkPhishTank(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n")
	for i := range 100000 {
		fmt.Fprintf(&buf, "%d,https://www.login%d.example.com/a/b,http://www.phishtank.com/phish_detail.php?phish_id=%d,2021-03-14T07:31:24+00:00,yes,2021-03-14T07:36:16+00:00,yes,Other\n", i, i, i)
	}
	benchParser(b, PhishTank(), "phishtank", buf.Bytes())
}

func BenchmarkOpenPhish(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "https://www.login%d.example.com/a/b\n", i)
	}
	benchParser(b, OpenPhish(), "openphish", buf.Bytes())
}
