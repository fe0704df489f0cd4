package blocklist

import (
	"os"
	"testing"
)

// FuzzParsers runs every parser of the package on the same input: none
// may panic, and every event must be valid IntelMQ JSON that reads back
// to itself (checked by parsetest.Collector).
func FuzzParsers(f *testing.F) {
	for _, name := range []string{"testdata/mixed.txt", "testdata/block.txt", "testdata/ssh.txt"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	feeds := map[string]string{"blocklistde": "blocklistde", "dshield-block": "dshield-block", "list": "test-list"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for format, feedName := range feeds {
			p, _ := New(format)
			_, _ = harness.Run(t, p, feedName, "ssh.txt", data, true)
		}
		p, _ := New("list")
		_, _ = harness.Run(t, p, "test-phishing-domains", "x", data, true)
	})
}
