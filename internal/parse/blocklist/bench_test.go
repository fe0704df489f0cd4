package blocklist

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkBlocklistDE(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	harness.Bench(b, BlocklistDE(), "blocklistde", "ssh.txt", buf.Bytes())
}

func BenchmarkListDomains(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "login-%d.phish.example.com\n", i)
	}
	harness.Bench(b, List(), "test-list", "x", buf.Bytes())
}

func BenchmarkListIPs(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	harness.Bench(b, List(), "test-list", "x", buf.Bytes())
}
