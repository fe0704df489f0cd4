package blocklist

import (
	"context"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// deList is what one of blocklist.de's lists means, after IntelMQ's
// blocklist.de parser.
type deList struct {
	typ         string // classification.type
	application string // protocol.application
	text        string // event_description.text
}

// deLists are blocklist.de's lists by name (https://www.blocklist.de/en/export.html).
var deLists = map[string]deList{
	"all":             {typ: "blacklist"},
	"ssh":             {"ids-alert", "ssh", "IP reported as having run attacks on the service SSH"},
	"mail":            {"ids-alert", "smtp", "IP reported as having run attacks on the service Mail, Postfix"},
	"apache":          {"ids-alert", "http", "IP reported as having run attacks on the service Apache, Apache-DDoS, RFI-Attacks"},
	"imap":            {"ids-alert", "imap", "IP reported as having run attacks on the service IMAP, SASL, POP3"},
	"ftp":             {"ids-alert", "ftp", "IP reported as having run attacks on the service FTP"},
	"sip":             {"ids-alert", "sip", "IP reported as having run attacks on the service SIP, VOIP, Asterisk"},
	"bots":            {"spam", "", "IP reported as having spammed on IRC, open forums, wikis or registration forms"},
	"strongips":       {"blacklist", "", "IP reported as having run attacks in the last 2 months"},
	"ircbot":          {"infected-system", "irc", ""},
	"bruteforcelogin": {"brute-force", "", "IP reported as having run brute-force logins on Joomla, WordPress and other web logins"},
}

// deListName finds the list a report is: the --report the user gave, else
// the file name ("ssh.txt", "lists/ssh.txt", "blocklistde-ssh.txt").
func deListName(in *parse.Input) string {
	for _, s := range []string{in.Report, in.Name} {
		s = strings.ToLower(s)
		if i := strings.LastIndexAny(s, `/\`); i >= 0 {
			s = s[i+1:]
		}
		s = strings.TrimSuffix(s, ".txt")
		if _, ok := deLists[s]; ok {
			return s
		}
		if i := strings.LastIndexAny(s, "-_."); i >= 0 {
			if _, ok := deLists[s[i+1:]]; ok {
				return s[i+1:]
			}
		}
	}
	return ""
}

// BlocklistDE returns the parser of blocklist.de's lists: one IP address
// per line. The list, told by the file name (ssh.txt, mail.txt, ...) or
// the report type, sets classification.identifier to its name and, as
// IntelMQ's parser does, the classification, protocol.application and
// event_description.text: ssh.txt is intrusion-attempts/ids-alert of
// application ssh, bots.txt abusive-content/spam, ircbot.txt
// malicious-code/infected-system, bruteforcelogin.txt
// intrusion-attempts/brute-force, all.txt and strongips.txt
// other/blacklist. A list of another name keeps the feed's
// classification (other/blacklist when it has none).
func BlocklistDE() parse.Parser { return parse.Func(parseBlocklistDE) }

func parseBlocklistDE(ctx context.Context, in parse.Input, out parse.Output) error {
	name := deListName(&in)
	list, known := deLists[name]
	s := textreport.NewSession(ctx, &in, out, "blocklist.de list")
	for s.Next() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		e := &s.Event
		textreport.DefaultClass(e, "other", "blacklist")
		if known {
			e.Classification.Taxonomy = event.TaxonomyOf(list.typ)
			e.Classification.Type = list.typ
			e.Classification.Identifier = name
			e.Protocol.Application = list.application
			e.EventDescription.Text = list.text
		}
		a, err := event.ParseIP(line)
		if err == nil {
			e.Source.IP = a
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}
