package spamhaus

import (
	"os"
	"testing"
)

// FuzzDROP checks that no input panics and every event is valid IntelMQ
// JSON that reads back to itself (checked by parsetest.Collector).
func FuzzDROP(f *testing.F) {
	for _, name := range []string{"testdata/drop_v4.json", "testdata/asndrop.json"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("; Spamhaus DROP List\n; Last-Modified: Mon, 14 Sep 2015 04:39:22 GMT\n1.4.0.0/17 ; SBL256893\n2a06:e480::/29 ; SBL301771\n"))
	f.Add([]byte("AS260 ; AE | XCONNECT24 - Xconnect24 Inc., US\nAS10516 ; | Orb-bit Design Group\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = harness.Run(t, DROP(), "spamhaus-drop", "fuzz", data, true)
	})
}
