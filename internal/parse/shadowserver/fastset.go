package shadowserver

import (
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
)

// Fast setters for the fields nearly every Shadowserver row fills.
//
// Event.Set finds a field by name in a map and then normalises the value;
// at hundreds of thousands of rows a second the lookups alone cost more
// than the rest of a row. A plan therefore binds each column to a setter
// once. The setters here store a value directly when it is already in the
// field's normal form (an ASCII text, a port of digits) and hand anything
// else to Event.Set, so the result is always what Event.Set would store:
// TestFastSettersAgree and FuzzFastSetters check that. A setter is used
// only while the field's kind in the event registry is the kind it was
// written for, so a change there falls back to Event.Set, never to a wrong
// value.

// fastSetter is a setter written for fields of one kind.
type fastSetter struct {
	kind event.Kind
	set  func(name string) setter
}

func textAt(kind event.Kind, p func(*event.Event) *string) fastSetter {
	return fastSetter{kind, func(name string) setter {
		return func(e *event.Event, s string) error {
			if isPlain(kind, s) {
				*p(e) = s
				return nil
			}
			return e.Set(name, s)
		}
	}}
}

func fqdnAt(p func(*event.Event) *string) fastSetter {
	return fastSetter{event.KindFQDN, func(name string) setter {
		return func(e *event.Event, s string) error {
			v, err := event.NormFQDN(s)
			if err != nil {
				return e.Set(name, s) // for Set's error message
			}
			*p(e) = v
			return nil
		}
	}}
}

func ipAt(p func(*event.Event) *netip.Addr) fastSetter {
	return fastSetter{event.KindIP, func(name string) setter {
		return func(e *event.Event, s string) error {
			a, err := event.ParseIP(s)
			if err != nil {
				return e.Set(name, s)
			}
			*p(e) = a
			return nil
		}
	}}
}

func portAt(p func(*event.Event) *event.Opt[uint16]) fastSetter {
	return fastSetter{event.KindInt, func(name string) setter {
		return func(e *event.Event, s string) error {
			if n, ok := digits(s, 65535); ok {
				*p(e) = event.Some(uint16(n))
				return nil
			}
			return e.Set(name, s)
		}
	}}
}

func asnAt(p func(*event.Event) *uint32) fastSetter {
	return fastSetter{event.KindInt, func(name string) setter {
		return func(e *event.Event, s string) error {
			if n, ok := digits(s, 1<<32-1); ok {
				*p(e) = uint32(n)
				return nil
			}
			return e.Set(name, s)
		}
	}}
}

func timeAt(p func(*event.Event) *time.Time) fastSetter {
	return fastSetter{event.KindTime, func(name string) setter {
		return func(e *event.Event, s string) error {
			t, err := event.ParseTime(s)
			if err != nil {
				return e.Set(name, s)
			}
			*p(e) = t
			return nil
		}
	}}
}

var fastSetters = map[string]fastSetter{
	"time.source":               timeAt(func(e *event.Event) *time.Time { return &e.TimeSource }),
	"classification.identifier": textAt(event.KindString, func(e *event.Event) *string { return &e.Classification.Identifier }),
	"classification.taxonomy":   textAt(event.KindTaxonomy, func(e *event.Event) *string { return &e.Classification.Taxonomy }),
	"classification.type":       textAt(event.KindType, func(e *event.Event) *string { return &e.Classification.Type }),
	"event_description.text":    textAt(event.KindString, func(e *event.Event) *string { return &e.EventDescription.Text }),
	"malware.name":              textAt(event.KindLower, func(e *event.Event) *string { return &e.Malware.Name }),
	"malware.hash.md5":          textAt(event.KindString, func(e *event.Event) *string { return &e.Malware.MD5 }),
	"malware.hash.sha1":         textAt(event.KindString, func(e *event.Event) *string { return &e.Malware.SHA1 }),
	"malware.hash.sha256":       textAt(event.KindString, func(e *event.Event) *string { return &e.Malware.SHA256 }),
	"product.name":              textAt(event.KindString, func(e *event.Event) *string { return &e.Product.Name }),
	"product.vendor":            textAt(event.KindString, func(e *event.Event) *string { return &e.Product.Vendor }),
	"product.version":           textAt(event.KindString, func(e *event.Event) *string { return &e.Product.Version }),
	"product.vulnerabilities":   textAt(event.KindLower, func(e *event.Event) *string { return &e.Product.Vulnerabilities }),
	"protocol.application":      textAt(event.KindLower, func(e *event.Event) *string { return &e.Protocol.Application }),
	"protocol.transport":        textAt(event.KindLower, func(e *event.Event) *string { return &e.Protocol.Transport }),
	"severity":                  textAt(event.KindLower, func(e *event.Event) *string { return &e.Severity }),
	"status":                    textAt(event.KindString, func(e *event.Event) *string { return &e.Status }),
}

func init() {
	for prefix, p := range map[string]func(*event.Event) *event.Endpoint{
		"source.":      func(e *event.Event) *event.Endpoint { return &e.Source },
		"destination.": func(e *event.Event) *event.Endpoint { return &e.Destination },
	} {
		fastSetters[prefix+"ip"] = ipAt(func(e *event.Event) *netip.Addr { return &p(e).IP })
		fastSetters[prefix+"port"] = portAt(func(e *event.Event) *event.Opt[uint16] { return &p(e).Port })
		fastSetters[prefix+"asn"] = asnAt(func(e *event.Event) *uint32 { return &p(e).ASN })
		fastSetters[prefix+"reverse_dns"] = fqdnAt(func(e *event.Event) *string { return &p(e).ReverseDNS })
		fastSetters[prefix+"fqdn"] = fqdnAt(func(e *event.Event) *string { return &p(e).FQDN })
		fastSetters[prefix+"geolocation.cc"] = textAt(event.KindCC, func(e *event.Event) *string { return &p(e).Geolocation.CC })
		fastSetters[prefix+"geolocation.region"] = textAt(event.KindString, func(e *event.Event) *string { return &p(e).Geolocation.Region })
		fastSetters[prefix+"geolocation.city"] = textAt(event.KindString, func(e *event.Event) *string { return &p(e).Geolocation.City })
		fastSetters[prefix+"account"] = textAt(event.KindString, func(e *event.Event) *string { return &p(e).Account })
		fastSetters[prefix+"local_hostname"] = textAt(event.KindString, func(e *event.Event) *string { return &p(e).LocalHostname })
	}
}

// setterFor returns the setter of the field called name: a fast one when
// there is one for the field's current kind, else Event.Set.
func setterFor(name string) setter {
	if f := event.Lookup(name); f != nil {
		if fs, ok := fastSetters[name]; ok && fs.kind == f.Kind {
			return fs.set(name)
		}
	}
	return func(e *event.Event, s string) error { return e.Set(name, s) }
}

// isPlain reports whether s is already in the normal form of a text field
// of kind: valid UTF-8 and not too long; for KindLower also ASCII without
// upper case or surrounding space; for KindCC two upper-case letters or
// digits; for KindTaxonomy and KindType a name of the taxonomy as it is
// written there.
func isPlain(kind event.Kind, s string) bool {
	switch kind {
	case event.KindString:
		return len(s) <= event.MaxFieldLen && utf8.ValidString(s)
	case event.KindLower:
		if len(s) == 0 || len(s) > event.MaxFieldLen || isSpace(s[0]) || isSpace(s[len(s)-1]) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
				return false
			}
		}
		return true
	case event.KindCC:
		return len(s) == 2 && isUpperAlnum(s[0]) && isUpperAlnum(s[1])
	case event.KindTaxonomy:
		_, ok := event.Taxonomies[s]
		return ok
	case event.KindType:
		return event.TaxonomyOf(s) != ""
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isUpperAlnum(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

// digits reads a plain decimal number no greater than max.
func digits(s string, max uint64) (uint64, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= max
}
