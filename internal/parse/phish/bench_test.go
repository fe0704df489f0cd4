package phish

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkPhishTank(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n")
	for i := range 100000 {
		fmt.Fprintf(&buf, "%d,https://www.login%d.example.com/a/b,http://www.phishtank.com/phish_detail.php?phish_id=%d,2021-03-14T07:31:24+00:00,yes,2021-03-14T07:36:16+00:00,yes,Other\n", i, i, i)
	}
	harness.Bench(b, PhishTank(), "phishtank", "", buf.Bytes())
}

func BenchmarkOpenPhish(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "https://www.login%d.example.com/a/b\n", i)
	}
	harness.Bench(b, OpenPhish(), "openphish", "", buf.Bytes())
}
