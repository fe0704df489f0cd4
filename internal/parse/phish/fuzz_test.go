package phish

import (
	"os"
	"testing"
)

// FuzzParsers runs both parsers on the same input: none may panic, and
// every event must be valid IntelMQ JSON that reads back to itself
// (checked by collector).
func FuzzParsers(f *testing.F) {
	if b, err := os.ReadFile("testdata/phishtank.csv"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("https://www.example.com/login\nhttp://192.0.2.1:8080/x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range Formats {
			p, _ := New(format)
			_, _ = runParser(t, p, format, "fuzz", data, true)
		}
	})
}
