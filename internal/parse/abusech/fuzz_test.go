package abusech

import (
	"os"
	"testing"
)

// FuzzParsers runs every parser of the package on the same input: none
// may panic, and every event must be valid IntelMQ JSON that reads back
// to itself (checked by collector).
func FuzzParsers(f *testing.F) {
	for _, name := range []string{"testdata/urlhaus_dump.csv", "testdata/threatfox_full.csv", "testdata/threatfox_plain.txt", "testdata/sslbl_2024.csv"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\"2021-01-17 07:30:05\",\"192.0.2.1\",\"443\",\"online\",\"2021-02-10\",\"Dridex\"\n"))
	f.Add([]byte("# DstIP,DstPort\n192.0.2.1,443,Gozi C&C\n"))
	f.Add([]byte("# Dateadded (UTC),URL,URL_status,Threat,Host,IPaddress,ASnumber,Country\n2019-02-13 00:34:42,http://example.ch/,offline,malware_download,example.ch,192.0.2.1,29083,DE\n"))
	f.Add([]byte("\xef\xbb\xbf192.0.2.1:80\r\n[::1]:1\r\n0.0.0.0 x.example\r\n"))
	parsers := map[string]string{"feodo": "abusech-feodo", "sslbl": "abusech-sslbl", "urlhaus": "abusech-urlhaus", "threatfox": "abusech-threatfox"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for format, feedName := range parsers {
			p, _ := New(format)
			c, _ := runParser(t, p, feedName, "fuzz", data, true)
			_ = c
		}
	})
}
