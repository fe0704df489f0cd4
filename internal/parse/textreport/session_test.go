package textreport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
)

// ipList parses one IP address per line; "# ip list" confirms the format.
func ipList(ctx context.Context, in parse.Input, out parse.Output) error {
	s := NewSession(ctx, &in, out, "IP list")
	for s.Next() {
		line := s.Text()
		if line == "# ip list" {
			s.Confirm()
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		a, err := event.ParseIP(line)
		s.Event.Source.IP = a
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

type record struct{ got []string }

func (r *record) Event(e *event.Event, line int) error {
	r.got = append(r.got, fmt.Sprintf("%d:%s", line, e.Raw))
	return nil
}

func (r *record) Reject(line int, raw []byte, reason error) error {
	r.got = append(r.got, fmt.Sprintf("%d:reject %v", line, reason))
	return nil
}

func TestSession(t *testing.T) {
	f := &feed.Feed{Name: "ips", Classification: feed.Classification{Type: "scanner"}}
	long := strings.Repeat("1", MaxLine+1)
	tests := []struct {
		name, input, want, err string
	}{
		{"events", "192.0.2.1\n192.0.2.2\n", "[1:192.0.2.1 2:192.0.2.2]", ""},
		{"reject after an event", "192.0.2.1\nx\n192.0.2.2", "[1:192.0.2.1 2:reject \"x\" is not an IP address 3:192.0.2.2]", ""},
		{"not the format", "<html>\n192.0.2.1\n", "[]", "report is not in the feed's format: not a IP list: line 1: "},
		{"confirmed by a header", "# ip list\nx\n", "[2:reject \"x\" is not an IP address]", ""},
		{"long line first", long + "\n192.0.2.1\n", "[]", "report is not in the feed's format: not a IP list: line 1: line is longer"},
		{"long line later", "192.0.2.1\n" + long + "\n192.0.2.2\n", "[1:192.0.2.1 2:reject line is longer than 1048576 bytes 3:192.0.2.2]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out record
			in := parse.Input{R: strings.NewReader(tt.input), Feed: f, Now: time.Unix(0, 0)}
			err := ipList(context.Background(), in, &out)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err) || !errors.Is(err, ErrFormat)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
			if got := fmt.Sprint(out.got); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSessionStops(t *testing.T) {
	f := &feed.Feed{Name: "ips", Classification: feed.Classification{Type: "scanner"}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	input := strings.Repeat("192.0.2.1\n", 3000)
	var out record
	err := ipList(ctx, parse.Input{R: strings.NewReader(input), Feed: f}, &out)
	if !errors.Is(err, context.Canceled) || len(out.got) != 1023 {
		t.Errorf("cancelled: err %v after %d events, want context.Canceled after 1023", err, len(out.got))
	}
	bad := &feed.Feed{Name: "ips", TLP: "purple"}
	if err := ipList(context.Background(), parse.Input{R: strings.NewReader("192.0.2.1\n"), Feed: bad}, &out); err == nil || !strings.Contains(err.Error(), `feed "ips"`) {
		t.Errorf("bad feed default: %v", err)
	}
}
