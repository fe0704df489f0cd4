package blocklist

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

func benchParser(b *testing.B, p parse.Parser, f *feed.Feed, name string, data []byte) {
	var out countOutput
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out = countOutput{}
		if err := p.Parse(context.Background(), parse.Input{R: bytes.NewReader(data), Name: name, Feed: f, Now: testNow}, &out); err != nil {
			b.Fatal(err)
		}
	}
	if out.rejects > 0 {
		b.Fatalf("%d rejects", out.rejects)
	}
	b.ReportMetric(float64(out.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkBlocklistDE(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	benchParser(b, BlocklistDE(), feed.Builtin()["blocklistde"], "ssh.txt", buf.Bytes())
}

func BenchmarkListDomains(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "login-%d.phish.example.com\n", i)
	}
	benchParser(b, List(), testFeeds["test-list"], "x", buf.Bytes())
}

func BenchmarkListIPs(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	benchParser(b, List(), testFeeds["test-list"], "x", buf.Bytes())
}
