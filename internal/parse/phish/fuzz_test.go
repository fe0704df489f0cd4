package phish

import "testing"

// FuzzParsers runs both parsers on the same input: none may panic, and
// every event must be valid IntelMQ JSON that reads back to itself
// (checked by parsetest.Collector).
func FuzzParsers(f *testing.F) {
	// Short seeds: with whole fixture files as seeds the fuzzer crawls.
	f.Add([]byte("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n7019668,\"http://192.0.2.7/a,b?x=\"\"2\"\"\",http://www.phishtank.com/phish_detail.php?phish_id=7019668,2021-03-14T07:30:00+00:00,yes,2021-03-14T07:36:16+00:00,no,\"eBay, Inc.\"\n"))
	f.Add([]byte("https://www.example.com/login\nhttp://192.0.2.1:8080/x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range Formats {
			p, _ := New(format)
			_, _ = harness.Run(t, p, format, "fuzz", data, true)
		}
	})
}
