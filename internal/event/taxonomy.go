package event

import (
	"fmt"
	"slices"
)

// Taxonomies maps each IntelMQ classification taxonomy to its types, in the
// order IntelMQ's harmonisation documents them (IntelMQ 3.x, derived from the
// Reference Security Incident Taxonomy). A classification is valid when its
// type is listed under its taxonomy.
var Taxonomies = map[string][]string{
	"abusive-content":              {"spam", "harmful-speech", "violence"},
	"malicious-code":               {"infected-system", "c2-server", "malware-distribution", "malware-configuration"},
	"information-gathering":        {"scanner", "sniffing", "social-engineering"},
	"intrusion-attempts":           {"ids-alert", "brute-force", "exploit"},
	"intrusions":                   {"privileged-account-compromise", "unprivileged-account-compromise", "application-compromise", "system-compromise", "burglary"},
	"availability":                 {"dos", "ddos", "outage", "sabotage"},
	"information-content-security": {"unauthorised-information-access", "unauthorised-information-modification", "data-loss", "data-leak"},
	"fraud":                        {"unauthorized-use-of-resources", "copyright", "masquerade", "phishing"},
	"vulnerable":                   {"weak-crypto", "ddos-amplifier", "potentially-unwanted-accessible", "information-disclosure", "vulnerable-system"},
	"other":                        {"other", "undetermined", "blacklist", "unknown"},
	"test":                         {"test"},
}

// typeTaxonomy is the reverse of Taxonomies: every type belongs to exactly
// one taxonomy, which lets a feed name only the type.
var typeTaxonomy = func() map[string]string {
	m := make(map[string]string)
	for tax, types := range Taxonomies {
		for _, t := range types {
			m[t] = tax
		}
	}
	return m
}()

// TaxonomyOf returns the taxonomy a classification type belongs to, or ""
// when the type is unknown.
func TaxonomyOf(typ string) string { return typeTaxonomy[typ] }

// Classification is an event's place in the taxonomy plus a free identifier
// (for example "open-dns" or "feodo").
type Classification struct {
	Taxonomy   string
	Type       string
	Identifier string
}

// Validate reports whether the classification is in the taxonomy. An empty
// taxonomy is filled in from the type.
func (c *Classification) Validate() error {
	if c.Type == "" {
		return fmt.Errorf("classification.type is missing")
	}
	tax, ok := typeTaxonomy[c.Type]
	if !ok {
		return fmt.Errorf("classification.type %q is not in the taxonomy", c.Type)
	}
	if c.Taxonomy == "" {
		c.Taxonomy = tax
		return nil
	}
	types, ok := Taxonomies[c.Taxonomy]
	if !ok {
		return fmt.Errorf("classification.taxonomy %q is not in the taxonomy", c.Taxonomy)
	}
	if !slices.Contains(types, c.Type) {
		return fmt.Errorf("classification.type %q does not belong to taxonomy %q (it belongs to %q)", c.Type, c.Taxonomy, tax)
	}
	return nil
}
