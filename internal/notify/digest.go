package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Digest says how often a recipient gets the events of one route: at
// once (Every 0), or at most once per Every; with At set, at that time of
// day (and for weekly digests on Mondays) in the recipient's time zone.
type Digest struct {
	Every time.Duration
	At    time.Duration // time of day, when set
	set   bool
}

// ParseDigest reads immediate, hourly, daily or weekly, optionally with
// @HH:MM.
func ParseDigest(s string) (Digest, error) {
	name, at, hasAt := strings.Cut(s, "@")
	var d Digest
	switch name {
	case "immediate", "":
	case "hourly":
		d.Every = time.Hour
	case "daily":
		d.Every = 24 * time.Hour
	case "weekly":
		d.Every = 7 * 24 * time.Hour
	default:
		return d, fmt.Errorf("digest %q: use immediate, hourly, daily or weekly", s)
	}
	if hasAt {
		h, m, ok := strings.Cut(at, ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
			return d, fmt.Errorf("digest %q: the time must be HH:MM", s)
		}
		if d.Every < 24*time.Hour {
			return d, fmt.Errorf("digest %q: only daily and weekly digests have a time", s)
		}
		d.At, d.set = time.Duration(hh)*time.Hour+time.Duration(mm)*time.Minute, true
	}
	return d, nil
}

func (d Digest) String() string {
	var s string
	switch d.Every {
	case 0:
		return "immediate"
	case time.Hour:
		s = "hourly"
	case 24 * time.Hour:
		s = "daily"
	default:
		s = "weekly"
	}
	if d.set {
		s += fmt.Sprintf("@%02d:%02d", int(d.At.Hours()), int(d.At.Minutes())%60)
	}
	return s
}

// slack forgives runs that start a little early: a daily digest whose
// last run was at 08:00:05 is due again at 08:00:00 the next day.
const slack = 5 * time.Minute

// Due reports whether a digest last sent at last (zero: never) is due at
// now, in time zone loc.
func (d Digest) Due(last, now time.Time, loc *time.Location) bool {
	if d.Every == 0 || last.IsZero() && !d.set {
		return true
	}
	if !d.set {
		return now.Sub(last) >= d.Every-slack
	}
	sched := d.latest(now, loc)
	if last.IsZero() {
		// The first digest goes out on a scheduled day, after its hour.
		y1, m1, d1 := sched.In(loc).Date()
		y2, m2, d2 := now.In(loc).Date()
		return y1 == y2 && m1 == m2 && d1 == d2
	}
	return last.Before(sched.Add(-slack))
}

// latest returns the most recent scheduled time at or before now.
func (d Digest) latest(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	s := day.Add(d.At)
	if d.Every >= 7*24*time.Hour {
		// Mondays.
		back := (int(s.Weekday()) + 6) % 7
		s = s.AddDate(0, 0, -back)
		if s.After(now) {
			s = s.AddDate(0, 0, -7)
		}
		return s
	}
	if s.After(now) {
		s = s.AddDate(0, 0, -1)
	}
	return s
}
