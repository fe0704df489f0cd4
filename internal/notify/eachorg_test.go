package notify

import (
	"errors"
	"iter"
	"slices"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/store"
)

func stream(evs []*store.Event, err error) iter.Seq2[*store.Event, error] {
	return func(yield func(*store.Event, error) bool) {
		for _, e := range evs {
			if !yield(e, nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// TestEachOrg: each organisation of the directory gets its events, in
// sorted order, also those without any; events of organisations not in
// the directory are skipped, and a read error stops the walk.
func TestEachOrg(t *testing.T) {
	var evs []*store.Event
	for i, org := range []string{"a", "b", "b", "c", "d", "d", "d", "e"} {
		evs = append(evs, &store.Event{ID: int64(i + 1), Org: org})
	}
	got := map[string][]int64{}
	var order []string
	err := eachOrg(stream(evs, nil), []string{"d", "b", "x", "0"}, func(id string, events iter.Seq2[*store.Event, error]) error {
		order = append(order, id)
		for e, err := range events {
			if err != nil {
				return err
			}
			got[id] = append(got[id], e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"0", "b", "d", "x"}) || !slices.Equal(got["b"], []int64{2, 3}) || !slices.Equal(got["d"], []int64{5, 6, 7}) || len(got["0"])+len(got["x"]) != 0 {
		t.Errorf("order %v, events %v", order, got)
	}

	// An organisation that stops reading early does not take the next
	// one's events.
	got = map[string][]int64{}
	eachOrg(stream(evs, nil), []string{"b", "c"}, func(id string, events iter.Seq2[*store.Event, error]) error {
		for e := range events {
			got[id] = append(got[id], e.ID)
			break
		}
		return nil
	})
	if !slices.Equal(got["b"], []int64{2}) || !slices.Equal(got["c"], []int64{4}) {
		t.Errorf("early stops: %v", got)
	}

	// A read error reaches the caller.
	boom := errors.New("disk on fire")
	err = eachOrg(stream(evs[:2], boom), []string{"b", "c"}, func(id string, events iter.Seq2[*store.Event, error]) error {
		for _, err := range events {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want %v", err, boom)
	}
	// So does f's.
	err = eachOrg(stream(evs, nil), []string{"a"}, func(string, iter.Seq2[*store.Event, error]) error { return errors.New("f failed") })
	if err == nil || !strings.Contains(err.Error(), "f failed") {
		t.Errorf("err = %v", err)
	}
}
