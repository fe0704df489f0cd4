package ripe

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMailboxes(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     []string
		rejected []string // texts
	}{
		// intelmq-certbund-contact's cases (tests/ripe/test_ripe_data.py).
		{in: "null@example.com", want: []string{"null@example.com"}},
		{in: "NULL@eXamplE.coM", want: []string{"null@example.com"}},
		{in: "abuse@novaposhta.ua  <abuse@novaposhta.ua>", want: []string{"abuse@novaposhta.ua"}},
		{in: "abuse@icloudhosting.com <abuse@icloudhosting.com>", want: []string{"abuse@icloudhosting.com"}},
		{in: `"r:[/r/]*4;e'*&m'"@fenix.international`, want: []string{`"r:[/r/]*4;e'*&m'"@fenix.international`}},
		{in: `"abuse contact"@example.com`, want: []string{`"abuse contact"@example.com`}},
		{in: "abuse@crimeainfo.com,", want: []string{"abuse@crimeainfo.com"}},
		{in: "abuse@cxl.zone (preferred)", want: []string{"abuse@cxl.zone"}},
		{in: "abuse@example.com abuse@example.net", want: []string{"abuse@example.com", "abuse@example.net"}},
		{in: "abuse@example.com, abuse@example.net", want: []string{"abuse@example.com", "abuse@example.net"}},
		{in: `"abuse contact"@example.com abuse@example.com`, want: []string{`"abuse contact"@example.com`, "abuse@example.com"}},
		// Special characters seen in RIPE data.
		{in: "gedeeldeinfra&staven@vgz.nl", want: []string{"gedeeldeinfra&staven@vgz.nl"}},
		{in: "kevino'connor@merseyfire.gov.uk", want: []string{"kevino'connor@merseyfire.gov.uk"}},
		// More forms.
		{in: `"Abuse Desk" <Abuse@Example.org>`, want: []string{"abuse@example.org"}},
		{in: "Abuse Desk <abuse@example.org>; noc@example.org", want: []string{"abuse@example.org", "noc@example.org"}},
		{in: `"abuse"@example.org`, want: []string{"abuse@example.org"}},
		{in: `"a\"b"@example.org`, want: []string{`"a\"b"@example.org`}},
		{in: "mailto:abuse@example.org", want: []string{"abuse@example.org"}},
		{in: "abuse@example.org.", want: []string{"abuse@example.org"}},
		{in: "abuse@bücher.example", want: []string{"abuse@bücher.example"}},
		{in: "abuse@example.org abuse@EXAMPLE.org", want: []string{"abuse@example.org"}},
		{in: "abuse@example.org (a (nested) comment) noc@example.org", want: []string{"abuse@example.org", "noc@example.org"}},
		{in: "abuse@example.org see https://example.org/abuse", want: []string{"abuse@example.org"}, rejected: []string{"see https://example.org/abuse"}},
		// Not addresses.
		{in: "", want: nil},
		{in: "none", rejected: []string{"none"}},
		{in: "abuse at example dot org", rejected: []string{"abuse at example dot org"}},
		{in: "abuse(at)example.org", rejected: []string{"abuse(at)example.org"}},
		{in: "abuse@localhost", rejected: []string{"abuse@localhost"}},
		{in: "abuse@[192.0.2.1]", rejected: []string{"abuse@[192.0.2.1]"}},
		{in: "abuse@example.123", rejected: []string{"abuse@example.123"}},
		{in: "abuse@@example.org", rejected: []string{"abuse@@example.org"}},
		{in: "@example.org", rejected: []string{"@example.org"}},
		{in: "abuse@", rejected: []string{"abuse@"}},
		{in: "ab..use@example.org", rejected: []string{"ab..use@example.org"}},
		{in: ".abuse@example.org", rejected: []string{".abuse@example.org"}},
		{in: "abuse@-example.org", rejected: []string{"abuse@-example.org"}},
		{in: "abuse@exa_mple.org", want: []string{"abuse@exa_mple.org"}},
		{in: "abuse@exa mple.org", rejected: []string{"abuse@exa mple.org"}},
		{in: `"unterminated@example.org`, rejected: []string{`"unterminated@example.org`}},
		{in: "<abuse@example.org", rejected: []string{"<abuse@example.org"}},
		{in: "Name <not-an-address>", rejected: []string{"<not-an-address>"}},
	} {
		addrs, rejected := ParseMailboxes(tc.in)
		var texts []string
		for _, r := range rejected {
			texts = append(texts, r.Text)
			if r.Reason == "" {
				t.Errorf("ParseMailboxes(%q): %q rejected without a reason", tc.in, r.Text)
			}
		}
		if !slices.Equal(addrs, tc.want) || !slices.Equal(texts, tc.rejected) {
			t.Errorf("ParseMailboxes(%q) = %q, rejected %q; want %q, rejected %q", tc.in, addrs, texts, tc.want, tc.rejected)
		}
	}
}

func TestParseMailboxesReasons(t *testing.T) {
	for in, want := range map[string]string{
		"abuse at example dot org": "written out",
		"none":                     "no '@'",
		"abuse@localhost":          "no dot",
		"abuse@[192.0.2.1]":        "domain literal",
		"a b@example.org":          "not an e-mail address",
	} {
		_, rejected := ParseMailboxes(in)
		if len(rejected) == 0 || !strings.Contains(rejected[0].Reason, want) {
			t.Errorf("ParseMailboxes(%q): rejected %+v, want a reason with %q", in, rejected, want)
		}
	}
}
