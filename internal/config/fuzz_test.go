package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse: no input makes Parse panic; every problem is an *Error naming
// the file; a config that parses validates again unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(example); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"data_dir: x\n",
		"log: {level: debug, format: json}\ningest: {store_raw: false, batch_size: 1}\n",
		"feeds:\n  - {name: a, format: list, classification: {type: scanner}, field: source.ip}\n",
		"feeds:\n  - name: b\n    format: csv\n    classification: {taxonomy: vulnerable, type: vulnerable-system}\n    csv: {delimiter: tab, header: true, columns: {ip: source.ip, \"2\": extra.x}}\n",
		"feeds:\n  - &a {name: a, format: cowrie, dedup: {window: 2d, fields: [source.ip]}}\n  - <<: *a\n    name: b\n",
		"feeds:\n  - {name: c, format: cowrie, constant: {source.port: '22', extra.k: v}, tlp: amber+strict, accuracy: 50}\n",
		"database: postgres://u:p@h/db?sslmode=disable\n",
		"? [a]\n: b\n",
		"a: &x [*x]\n",
		"feeds: [~, {}, []]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Config and an error")
			}
			for _, e := range unwrapAll(err) {
				var ce *Error
				if !errors.As(e, &ce) || ce.File != "fuzz.yaml" {
					t.Fatalf("error %q is not an *Error of fuzz.yaml", e)
				}
				if strings.HasPrefix(ce.Msg, "internal error") {
					t.Fatalf("internal error: %v", e)
				}
			}
			return
		}
		before := *c
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate again: %v", err)
		}
		if !sameExported(&before, c) {
			t.Fatal("Validate changed the config")
		}
		_ = c.Feeds().Names()
		_ = c.DB(ResolveDataDir("", c))
		_ = c.Database.String()
	})
}
