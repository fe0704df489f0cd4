package sqlite

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tocsin/tocsin/internal/store"
	"github.com/tocsin/tocsin/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "tocsin.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tocsin.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path) // migrations must not run twice
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestNotifyLog(t *testing.T) {
	storetest.RunNotifyLog(t, func(t *testing.T) func() storetest.NotifyLogStore {
		path := filepath.Join(t.TempDir(), "tocsin.db")
		return func() storetest.NotifyLogStore {
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// TestNotifyQueueSize queues TOCSIN_NOTIFY_SIZE notifications of 100
// events each, with a memory entry per event, and logs the time it took;
// skipped when the variable is unset.
func TestNotifyQueueSize(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("TOCSIN_NOTIFY_SIZE"))
	if err != nil {
		t.Skip("set TOCSIN_NOTIFY_SIZE to the number of notifications to queue")
	}
	s, err := Open(filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.NotifyQueueSize(t, s, n, 100)
}
