package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

// XARFVersion is the X-ARF schema release the reports follow. X-ARF v4 is
// the JSON generation of the format (github.com/abusix/xarf); its schema
// releases are numbered 1, 2, 3, and a report's "Version" names the
// release it validates against (schemas/3/xarf_shared.schema.json:
// Version const "3").
const XARFVersion = "3"

// ErrNoXARFType is returned by XARF for an event that no X-ARF report
// type fits (a compromised web site, a blocklist entry), or that lacks
// what its type requires (an address or a URL). Render sends such events
// in a CSV attachment instead.
var ErrNoXARFType = errors.New("no X-ARF report type fits the event")

// xarfKind is an X-ARF report class and type, and what the type's schema
// requires.
type xarfKind struct {
	class, typ string
	ipOnly     bool // IpBasedReport: SourceIp required; else SourceIp or SourceUrl
	url        bool // SourceUrl required (Phishing)
	service    bool // ServiceName required (OpenService)
}

// xarfKindOf maps an event to an X-ARF class and type (schemas/3):
//
//	infected-system, c2-server       Content / Botnet (BotnetName = malware.name)
//	malware-distribution             Content / Malware (MalwareName)
//	phishing                         Content / Phishing (SourceUrl required)
//	vulnerable-system, ddos-amplifier,
//	and the rest of "vulnerable"     Vulnerability / OpenService (ServiceName)
//	brute-force                      Activity / LoginAttack
//	scanner                          Activity / PortScan
//	spam                             Activity / Spam
//	ddos, dos                        Activity / DOS
//	exploit                          Activity / Exploit
func xarfKindOf(e *event.Event) (xarfKind, bool) {
	switch sectionOf(e) {
	case "infected-system", "c2-server":
		return xarfKind{class: "Content", typ: "Botnet"}, true
	case "malware-distribution":
		return xarfKind{class: "Content", typ: "Malware"}, true
	case "phishing":
		return xarfKind{class: "Content", typ: "Phishing", url: true}, true
	case "vulnerable-system", "ddos-amplifier":
		return xarfKind{class: "Vulnerability", typ: "OpenService", service: true}, true
	case "brute-force":
		return xarfKind{class: "Activity", typ: "LoginAttack", ipOnly: true}, true
	case "scanner":
		return xarfKind{class: "Activity", typ: "PortScan", ipOnly: true}, true
	case "spam":
		return xarfKind{class: "Activity", typ: "Spam", ipOnly: true}, true
	}
	switch e.Classification.Type {
	case "ddos", "dos":
		return xarfKind{class: "Activity", typ: "DOS", ipOnly: true}, true
	case "exploit":
		return xarfKind{class: "Activity", typ: "Exploit", ipOnly: true}, true
	}
	return xarfKind{}, false
}

type xarfReport struct {
	Version      string       `json:"Version"`
	ReporterInfo xarfReporter `json:"ReporterInfo"`
	Disclosure   bool         `json:"Disclosure"`
	Report       xarfBody     `json:"Report"`
}

type xarfReporter struct {
	ReporterOrg          string `json:"ReporterOrg"`
	ReporterOrgDomain    string `json:"ReporterOrgDomain"`
	ReporterOrgEmail     string `json:"ReporterOrgEmail"`
	ReporterContactEmail string `json:"ReporterContactEmail,omitempty"`
	ReporterContactPhone string `json:"ReporterContactPhone,omitempty"`
}

type xarfBody struct {
	ReportClass       string            `json:"ReportClass"`
	ReportType        string            `json:"ReportType"`
	ReporterCaseID    string            `json:"ReporterCaseID,omitempty"`
	Date              string            `json:"Date"`
	FirstSeen         string            `json:"FirstSeen,omitempty"`
	SourceIP          string            `json:"SourceIp,omitempty"`
	SourcePort        *int              `json:"SourcePort,omitempty"`
	ASN               uint32            `json:"ASN,omitempty"`
	SourceURL         string            `json:"SourceUrl,omitempty"`
	DestinationIP     string            `json:"DestinationIp,omitempty"`
	DestinationPort   *int              `json:"DestinationPort,omitempty"`
	TransportProtocol string            `json:"TransportProtocol,omitempty"`
	ServiceName       string            `json:"ServiceName,omitempty"`
	ServiceVersion    string            `json:"ServiceVersion,omitempty"`
	BotnetName        string            `json:"BotnetName,omitempty"`
	MalwareName       string            `json:"MalwareName,omitempty"`
	Custom            map[string]string `json:"Custom,omitempty"`
	Samples           []xarfSample      `json:"Samples,omitempty"`
}

type xarfSample struct {
	ContentType   string `json:"ContentType"`
	Base64Encoded bool   `json:"Base64Encoded"`
	Description   string `json:"Description"`
	Payload       string `json:"Payload"`
}

// XARF returns item as an X-ARF v4 report (schema release XARFVersion):
// ReporterInfo from d.Sender (its name, at least 3 characters; its
// e-mail address, required; its domain, from Sender.URL or else the
// address), Disclosure true, and a Report whose class and type follow the
// event's classification (see xarfKindOf), with Date (the item's last
// sighting, else time.source, else d.Date) and FirstSeen, the source
// address, port, ASN and URL, the destination of an attack, the service
// of an open service, the malware's name, the notification ID as
// ReporterCaseID, the classification and feed under Custom, and the event
// itself as IntelMQ JSON in Samples. An event no type fits gives
// ErrNoXARFType.
func XARF(item Item, d *Data) ([]byte, error) {
	e := item.Event
	if e == nil {
		return nil, errors.New("x-arf: the item has no event")
	}
	kind, ok := xarfKindOf(e)
	if !ok {
		return nil, fmt.Errorf("%w: classification.type %q", ErrNoXARFType, e.Classification.Type)
	}
	rep, err := xarfReporterOf(d.Sender)
	if err != nil {
		return nil, err
	}
	date := item.LastSeen
	if date.IsZero() {
		date = e.TimeSource
	}
	if date.IsZero() {
		date = d.Date
	}
	b := xarfBody{
		ReportClass:    kind.class,
		ReportType:     kind.typ,
		ReporterCaseID: d.Ident,
		Date:           date.UTC().Format(time.RFC3339),
	}
	if f := item.FirstSeen; !f.IsZero() && f.Before(date) {
		b.FirstSeen = f.UTC().Format(time.RFC3339)
	}
	src := &e.Source
	if src.IP.IsValid() {
		b.SourceIP = src.IP.Unmap().String()
		if src.ASN != 0 && src.ASN <= 4199999999 {
			b.ASN = src.ASN
		}
	}
	if src.Port.Set {
		p := int(src.Port.V)
		b.SourcePort = &p
	}
	if !kind.ipOnly && src.URL != "" {
		b.SourceURL = src.URL
	}
	switch {
	case kind.url && b.SourceURL == "":
		return nil, fmt.Errorf("%w: an X-ARF %s report needs source.url", ErrNoXARFType, kind.typ)
	case kind.ipOnly && b.SourceIP == "", b.SourceIP == "" && b.SourceURL == "":
		return nil, fmt.Errorf("%w: an X-ARF %s report needs source.ip", ErrNoXARFType, kind.typ)
	}
	if kind.ipOnly && e.Destination.IP.IsValid() {
		b.DestinationIP = e.Destination.IP.Unmap().String()
		if e.Destination.Port.Set {
			p := int(e.Destination.Port.V)
			b.DestinationPort = &p
		}
	}
	if t := e.Protocol.Transport; (kind.service || kind.typ == "Exploit") && (t == "tcp" || t == "udp") {
		b.TransportProtocol = t
	}
	if kind.service {
		b.ServiceName = e.Protocol.Application
		if b.ServiceName == "" {
			b.ServiceName = e.Classification.Identifier
		}
		if b.ServiceName == "" {
			return nil, fmt.Errorf("%w: an X-ARF OpenService report needs protocol.application or classification.identifier", ErrNoXARFType)
		}
		b.ServiceName = oneLine(b.ServiceName, maxValue)
		b.ServiceVersion = oneLine(strings.TrimSpace(e.Product.Name+" "+e.Product.Version), maxName)
	}
	switch kind.typ {
	case "Botnet":
		b.BotnetName = oneLine(e.Malware.Name, maxValue)
	case "Malware":
		b.MalwareName = oneLine(e.Malware.Name, maxValue)
	}
	custom := map[string]string{}
	for _, f := range []string{"classification.taxonomy", "classification.type", "classification.identifier",
		"feed.name", "feed.code", "source.fqdn", "source.reverse_dns", "product.vulnerabilities"} {
		if v := oneLine(e.GetString(f), 500); v != "" {
			custom[f] = v
		}
	}
	if len(custom) > 0 {
		b.Custom = custom
	}
	ev := *e
	ev.Raw = nil
	b.Samples = []xarfSample{{ContentType: "application/json", Description: "the event as IntelMQ JSON", Payload: string(ev.AppendJSON(nil))}}
	return json.MarshalIndent(xarfReport{Version: XARFVersion, ReporterInfo: rep, Disclosure: true, Report: b}, "", "  ")
}

// xarfReporterOf fills ReporterInfo from the CSIRT's details, which the
// schema requires: an organisation name of at least 3 characters, its
// domain and its e-mail address.
func xarfReporterOf(s Sender) (xarfReporter, error) {
	name := oneLine(s.Name, maxName)
	if len([]rune(name)) < 3 {
		return xarfReporter{}, fmt.Errorf("x-arf: the sender's name %q is shorter than 3 characters, which X-ARF requires: set the CSIRT's name in the configuration", name)
	}
	a, err := mail.ParseAddress(s.Email)
	if err != nil || a.Address != s.Email {
		return xarfReporter{}, fmt.Errorf("x-arf: the sender's e-mail address %q is not a plain address (name@domain), which X-ARF requires: set the CSIRT's address in the configuration", oneLine(s.Email, maxName))
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	if u, err := url.Parse(s.URL); err == nil && u.Hostname() != "" && s.URL != "" {
		domain = u.Hostname()
	}
	r := xarfReporter{
		ReporterOrg:          name,
		ReporterOrgDomain:    strings.ToLower(domain),
		ReporterOrgEmail:     a.Address,
		ReporterContactEmail: a.Address,
	}
	if p := oneLine(s.Phone, maxValue); len(p) >= 3 {
		r.ReporterContactPhone = p
	}
	return r, nil
}
