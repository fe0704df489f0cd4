package abusech

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkFeodo(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n")
	for i := range 100000 {
		fmt.Fprintf(&buf, "\"2024-02-08 19:20:49\",\"10.%d.%d.%d\",\"443\",\"offline\",\"2024-03-11\",\"Pikabot\"\n", i>>16&255, i>>8&255, i&255)
	}
	harness.Bench(b, Feodo(), "abusech-feodo", "", buf.Bytes())
}

func BenchmarkURLhaus(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n")
	for i := range 100000 {
		fmt.Fprintf(&buf, "\"%d\",\"2024-04-08 10:54:07\",\"http://host%d.example.com:43122/i\",\"online\",\"2024-04-08 10:54:07\",\"malware_download\",\"32-bit,elf,mips,Mozi\",\"https://urlhaus.abuse.ch/url/%d/\",\"lrz_urlhaus\"\n", i, i, i)
	}
	harness.Bench(b, URLhaus(), "abusech-urlhaus", "", buf.Bytes())
}

func BenchmarkThreatFoxCSV(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"is_compromised\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n")
	for i := range 100000 {
		fmt.Fprintf(&buf, "\"2026-09-24 09:11:10\", \"%d\", \"10.%d.%d.%d:14643\", \"ip:port\", \"botnet_cc\", \"win.remcos\", \"None\", \"Remcos\", \"\", \"100\", \"False\", \"None\", \"c2\", \"0\", \"Bitsight\"\n", i, i>>16&255, i>>8&255, i&255)
	}
	harness.Bench(b, ThreatFox(), "abusech-threatfox", "", buf.Bytes())
}

func BenchmarkThreatFoxIPs(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&buf, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	harness.Bench(b, ThreatFox(), "abusech-threatfox", "", buf.Bytes())
}
