package abusech

import "testing"

// FuzzParsers runs every parser of the package on the same input: none
// may panic, and every event must be valid IntelMQ JSON that reads back
// to itself (checked by parsetest.Collector).
func FuzzParsers(f *testing.F) {
	// Short seeds: with whole fixture files as seeds the fuzzer crawls
	// (a few execs a second).
	f.Add([]byte("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\"2812345\",\"2024-04-08 10:54:07\",\"http://192.0.2.17:43122/i\",\"online\",\"2024-04-08 10:54:07\",\"malware_download\",\"elf,Mozi\",\"https://urlhaus.abuse.ch/url/2812345/\",\"lrz\"\n"))
	f.Add([]byte("\"2026-09-24 09:11:10\", \"1932209\", \"198.51.100.42:14643\", \"ip:port\", \"botnet_cc\", \"win.remcos\", \"None\", \"Remcos\", \"\", \"100\", \"False\", \"None\", \"c2\", \"0\", \"Bitsight\"\n"))
	f.Add([]byte("# Firstseen,DstIP,DstPort\n2024-03-31 18:10:12,192.0.2.45,443\n"))
	f.Add([]byte("\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\"2021-01-17 07:30:05\",\"192.0.2.1\",\"443\",\"online\",\"2021-02-10\",\"Dridex\"\n"))
	f.Add([]byte("# DstIP,DstPort\n192.0.2.1,443,Gozi C&C\n"))
	f.Add([]byte("# Dateadded (UTC),URL,URL_status,Threat,Host,IPaddress,ASnumber,Country\n2019-02-13 00:34:42,http://example.ch/,offline,malware_download,example.ch,192.0.2.1,29083,DE\n"))
	f.Add([]byte("\xef\xbb\xbf192.0.2.1:80\r\n[::1]:1\r\n0.0.0.0 x.example\r\n"))
	parsers := map[string]string{"feodo": "abusech-feodo", "sslbl": "abusech-sslbl", "urlhaus": "abusech-urlhaus", "threatfox": "abusech-threatfox"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for format, feedName := range parsers {
			p, _ := New(format)
			_, _ = harness.Run(t, p, feedName, "fuzz", data, true)
		}
	})
}
