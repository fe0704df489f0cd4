package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	tmail "github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/mail/mailpittest"
)

// notifyConstituency owns addresses of the Shadowserver samples: organisations
// in four languages, one that opted out, and one whose registered mailbox
// will bounce (its second contact must get the events instead).
const notifyConstituency = `organisations:
  - id: isp-se
    name: Exempel Bredband AB
    sector: telecom
    country: SE
    languages: [sv]
    contacts: [{email: abuse@bredband.example}]
    assets: [198.51.100.0/24]
  - id: lima-pt
    name: Exemplo Telecomunicações
    country: PE
    languages: [pt-BR]
    notify: {format: xarf}
    contacts: [{email: seguranca@exemplo.example}]
    assets: [190.113.0.0/16, 141.98.0.0/16]
  - id: vn-net
    name: Mạng Ví Dụ
    country: VN
    languages: [vi]
    contacts: [{email: abuse@vidu.example}]
    assets: [113.160.0.0/16]
  - id: us-isp
    name: Example Networks Inc
    country: US
    contacts: [{email: gone@examplenet.example}, {email: noc@examplenet.example, role: noc}]
    assets: [96.60.0.0/16, 35.205.0.0/16, 103.196.0.0/16]
  - id: quiet
    name: Quiet Hosting
    country: NL
    notify: {opt_out: true}
    contacts: [{email: abuse@quiet.example}]
    assets: [5.188.0.0/16, 5.14.0.0/16]
`

var notifySamples = []string{"scan_dns.csv", "event4_sinkhole.csv", "event4_honeypot_brute_force.csv", "scan_ssl.csv", "event4_sinkhole_http.csv"}

// setupNotify makes a data directory with the constituency, a signing key
// and the samples ingested; it returns the config file.
func setupNotify(t *testing.T, data, extraConfig string) string {
	t.Helper()
	dir := samplesDir(t)
	cfg := filepath.Join(t.TempDir(), "tocsin.yaml")
	// The samples are years old: look back far enough to see them.
	os.WriteFile(cfg, []byte("notify:\n  sender: {name: CERT-XX, email: cert@cert.example, url: https://cert.example}\n  lookback: 36500d\n"+extraConfig), 0o644)
	cons := filepath.Join(t.TempDir(), "constituents.yaml")
	os.WriteFile(cons, []byte(notifyConstituency), 0o644)
	if r := run(t, data, nil, "constituents", "import", cons); r.code != 0 {
		t.Fatalf("constituents import: %d %s", r.code, r.stderr)
	}
	if r := run(t, data, nil, "notify", "keygen", "--config", cfg); r.code != 0 || !strings.Contains(r.stdout, "BEGIN PGP PUBLIC KEY BLOCK") {
		t.Fatalf("notify keygen: %d %s %s", r.code, r.stdout, r.stderr)
	}
	args := []string{"ingest", "--config", cfg, "--feed", "shadowserver"}
	for _, s := range notifySamples {
		args = append(args, filepath.Join(dir, s))
	}
	if r := run(t, data, nil, args...); r.code != 0 {
		t.Fatalf("ingest: %d %s", r.code, r.stderr)
	}
	return cfg
}

// testNow is the time the tests run the notifier at: a little ahead, as
// the signing key made by the test must be older than the signatures.
var (
	testNow    = time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	firstIdent = "TOCSIN-" + testNow.Format("20060102") + "-000001"
)

type runSummary struct {
	Messages, Events, Recipients, Muted, Deferred, Suppressed, Sent, Failed int
	NoContact                                                               int `json:"no_contact"`
}

func runNotify(t *testing.T, data, cfg string, args ...string) runSummary {
	t.Helper()
	r := run(t, data, nil, append([]string{"notify", "run", "--config", cfg, "--json", "--now", testNow.Format(time.RFC3339)}, args...)...)
	var s runSummary
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil {
		t.Fatalf("notify run %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return s
}

// TestNotifyOutbox: with no SMTP server, signed messages land in the
// outbox, one per recipient, in each organisation's language, with the
// events attached; a second run sends nothing (the log remembers), and a
// dry run changes nothing.
func TestNotifyOutbox(t *testing.T) {
	data := t.TempDir()
	cfg := setupNotify(t, data, "")

	dry := run(t, data, nil, "notify", "run", "--config", cfg, "--dry-run", "--now", testNow.Format(time.RFC3339))
	if dry.code != 0 || !strings.Contains(dry.stdout, "abuse@bredband.example") || !strings.Contains(dry.stdout, firstIdent) {
		t.Fatalf("dry run: %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "outbox")); err == nil {
		t.Fatal("a dry run wrote to the outbox")
	}

	s := runNotify(t, data, cfg)
	if s.Messages != 4 || s.Sent != 4 || s.Recipients != 4 || s.Muted == 0 || s.Events < 100 {
		t.Fatalf("first run: %+v, want 4 messages to 4 recipients, the opted-out organisation muted", s)
	}
	again := runNotify(t, data, cfg)
	if again.Messages != 0 || again.Suppressed != s.Events {
		t.Errorf("second run: %+v, want nothing sent and all %d events already notified", again, s.Events)
	}

	files, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	if len(files) != 4 {
		t.Fatalf("outbox holds %d messages, want 4", len(files))
	}
	byRcpt := map[string]*mail.Message{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id := m.Header.Get("X-Tocsin-ID")
		if filepath.Base(f) != id+".eml" || !strings.Contains(decodeHeader(m.Header.Get("Subject")), id) {
			t.Errorf("%s: X-Tocsin-ID %q, subject %q", f, id, m.Header.Get("Subject"))
		}
		if m.Header.Get("Auto-Submitted") != "auto-generated" {
			t.Errorf("%s: not marked Auto-Submitted", f)
		}
		mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if mt != "multipart/signed" || params["protocol"] != "application/pgp-signature" {
			t.Errorf("%s: Content-Type %s %v, want PGP/MIME signed", f, mt, params)
		}
		to, err := mail.ParseAddress(m.Header.Get("To"))
		if err != nil {
			t.Fatalf("%s: To: %v", f, err)
		}
		byRcpt[to.Address] = m
		// The signed part holds the text and the CSV.
		text, atts := signedParts(t, m, params["boundary"])
		var csv string
		for name, data := range atts {
			if strings.HasSuffix(name, ".csv") || csv == "" && strings.HasSuffix(name, ".json") {
				csv = data
			}
		}
		if !strings.Contains(text, id) {
			t.Errorf("%s: the body does not quote %s", f, id)
		}
		if to, _ := mail.ParseAddress(m.Header.Get("To")); to != nil && to.Address == "seguranca@exemplo.example" {
			// This organisation asked for X-ARF: one report per event.
			csv = ""
			for name, data := range atts {
				if strings.HasSuffix(name, ".xarf.json") {
					csv = data
				}
			}
			var x struct {
				Version      string
				ReporterInfo struct{ ReporterOrgEmail string }
				Report       struct{ ReportClass, SourceIp string }
			}
			if err := json.Unmarshal([]byte(csv), &x); err != nil || x.Version == "" || x.Report.ReportClass == "" || x.Report.SourceIp == "" || x.ReporterInfo.ReporterOrgEmail != "cert@cert.example" {
				t.Errorf("%s: X-ARF attachment %v: %.300s", f, err, csv)
			}
		} else if !strings.HasPrefix(csv, "time.source,") && !strings.Contains(strings.SplitN(csv, "\n", 2)[0], "source.ip") {
			t.Errorf("%s: attachment header %q, want IntelMQ column names", f, strings.SplitN(csv, "\n", 2)[0])
		}
	}
	// Each in the organisation's language (pt-BR falls back to pt).
	for rcpt, word := range map[string]string{"abuse@bredband.example": " i ert nätverk ", "seguranca@exemplo.example": " na sua rede ",
		"abuse@vidu.example": " trong mạng của ", "gone@examplenet.example": " in your network "} {
		m := byRcpt[rcpt]
		if m == nil {
			t.Errorf("no message to %s; got %v", rcpt, keys(byRcpt))
			continue
		}
		if subj := decodeHeader(m.Header.Get("Subject")); !strings.Contains(subj, word) {
			t.Errorf("%s: subject %q, want it in the language of %q", rcpt, subj, word)
		}
	}
	if _, ok := byRcpt["abuse@quiet.example"]; ok {
		t.Error("the organisation that opted out was notified")
	}

	// The log: list and show.
	l := run(t, data, nil, "notify", "list", "--json")
	if l.code != 0 || strings.Count(l.stdout, "\n") != 4 || !strings.Contains(l.stdout, `"status":"sent"`) {
		t.Errorf("notify list: %d\n%s%s", l.code, l.stdout, l.stderr)
	}
	show := run(t, data, nil, "notify", "show", firstIdent)
	want, _ := os.ReadFile(filepath.Join(data, "outbox", firstIdent+".eml"))
	if show.code != 0 || show.stdout != string(want) {
		t.Errorf("notify show differs from the message sent (exit %d, %d vs %d bytes) %s", show.code, len(show.stdout), len(want), show.stderr)
	}
	if r := run(t, data, nil, "notify", "show", "TOCSIN-20991231-000001"); r.code != 1 || !strings.Contains(r.stderr, "no notification") {
		t.Errorf("show unknown: %d %s", r.code, r.stderr)
	}

	// What comes back: a DSN for the message to gone@ (its organisation's
	// next contact then gets the events), an auto-reply from another.
	gone, bred := byRcpt["gone@examplenet.example"], byRcpt["abuse@bredband.example"]
	if gone == nil || bred == nil {
		t.Fatal("messages missing")
	}
	goneID, bredMsgID := gone.Header.Get("X-Tocsin-ID"), bred.Header.Get("Message-ID")
	md := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, d), 0o755)
	}
	dsn := "From: MAILER-DAEMON@mx.examplenet.example\r\nTo: cert@cert.example\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n" +
		"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.examplenet.example\r\n\r\n" +
		"Final-Recipient: rfc822; gone@examplenet.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n" +
		"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nX-Tocsin-ID: " + goneID + "\r\nMessage-ID: " + gone.Header.Get("Message-ID") + "\r\nTo: gone@examplenet.example\r\n" +
		"--B--\r\n"
	auto := "From: abuse@bredband.example\r\nTo: cert@cert.example\r\nSubject: Autosvar: semester\r\nAuto-Submitted: auto-replied\r\n" +
		"In-Reply-To: " + bredMsgID + "\r\n\r\nJag är på semester till måndag.\r\n"
	os.WriteFile(filepath.Join(md, "new", "1.dsn"), []byte(dsn), 0o644)
	os.WriteFile(filepath.Join(md, "new", "2.auto"), []byte(auto), 0o644)
	b := run(t, data, nil, "notify", "bounces", "--json", "--maildir", md)
	if b.code != 0 || !strings.Contains(b.stdout, `"outcome":"bounced"`) || !strings.Contains(b.stdout, `"outcome":"auto-reply"`) {
		t.Fatalf("notify bounces: %d\n%s%s", b.code, b.stdout, b.stderr)
	}
	if again := run(t, data, nil, "notify", "bounces", "--json", "--maildir", md); again.stdout != "" {
		t.Errorf("messages read twice: %s", again.stdout)
	}
	fl := run(t, data, nil, "notify", "flags", "--json")
	if !strings.Contains(fl.stdout, `"email":"gone@examplenet.example","flag":"bouncing"`) && !strings.Contains(fl.stdout, `"flag":"bouncing"`) || !strings.Contains(fl.stdout, `"auto-reply"`) {
		t.Errorf("flags: %s", fl.stdout)
	}
	if st := run(t, data, nil, "notify", "show", "--json", goneID); !strings.Contains(st.stdout, `"status":"bounced"`) {
		t.Errorf("the bounced notification: %s", st.stdout)
	}
	next := runNotify(t, data, cfg)
	if next.Messages != 1 || next.Sent != 1 {
		t.Errorf("after the bounce: %+v, want one message to the next contact", next)
	}
	if l := run(t, data, nil, "notify", "list", "--json", "--recipient", "noc@examplenet.example"); strings.Count(l.stdout, "\n") != 1 {
		t.Errorf("noc@ got %q", l.stdout)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func decodeHeader(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// signedParts returns the text and the attachments, by name, inside a
// multipart/signed message.
func signedParts(t *testing.T, m *mail.Message, boundary string) (text string, attachments map[string]string) {
	attachments = map[string]string{}
	t.Helper()
	mr := multipart.NewReader(m.Body, boundary)
	signed, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := mime.ParseMediaType(signed.Header.Get("Content-Type"))
	if mt != "multipart/mixed" {
		b, _ := io.ReadAll(signed)
		return string(b), attachments
	}
	inner := multipart.NewReader(signed, params["boundary"])
	for {
		p, err := inner.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable; base64 below
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b = decodeBase64(t, b)
		}
		if p.FileName() == "" && text == "" {
			text = string(b)
		} else {
			attachments[p.FileName()] = string(b)
		}
	}
	return text, attachments
}

// TestNotifyMailpit is the end-to-end test: the real samples for
// a set of constituents, the notifier, a real SMTP server (mailpit), and
// through its API who got which message with which attachment. The
// registered mailbox of one organisation is refused by the server: it is
// flagged as bouncing and the events go to the next contact of its chain.
func TestNotifyMailpit(t *testing.T) {
	srv := mailpittest.Start(t, mailpittest.AllowedRecipients(`^(?:abuse@bredband|seguranca@exemplo|abuse@vidu|noc@examplenet)\.example$`))
	data := t.TempDir()
	cfg := setupNotify(t, data, fmt.Sprintf("  smtp: {addr: %q, tls: none}\n", srv.SMTPAddr))
	s := runNotify(t, data, cfg)
	if s.Sent != 4 || s.Failed != 1 {
		t.Fatalf("run: %+v, want 4 sent and the refused one failed", s)
	}
	msgs := srv.Messages(t)
	got := map[string]string{}
	for _, sum := range msgs {
		m := srv.Message(t, sum.ID)
		var names []string
		for _, a := range m.Attachments {
			names = append(names, a.FileName+" "+a.ContentType)
		}
		got[m.To[0].Address] = strings.Join(names, ",")
	}
	if len(got) != 4 {
		t.Fatalf("mailpit received for %v, want 4 recipients", keys(got))
	}
	for _, rcpt := range []string{"abuse@bredband.example", "seguranca@exemplo.example", "abuse@vidu.example", "noc@examplenet.example"} {
		a, ok := got[rcpt]
		if !ok {
			t.Errorf("no message to %s", rcpt)
			continue
		}
		data := ".csv"
		if rcpt == "seguranca@exemplo.example" {
			data = ".xarf.json" // it asked for X-ARF
		}
		if !strings.Contains(a, data) || !strings.Contains(a, "signature.asc") && !strings.Contains(a, "pgp-signature") {
			t.Errorf("%s: attachments %q, want %s and the signature", rcpt, a, data)
		}
	}
	l := run(t, data, nil, "notify", "list", "--json", "--config", cfg, "--status", "failed")
	if !strings.Contains(l.stdout, "gone@examplenet.example") {
		t.Errorf("the refused message is not logged as failed: %s", l.stdout)
	}
	if again := runNotify(t, data, cfg); again.Messages != 0 || again.Sent != 0 {
		t.Errorf("second run sent again: %+v", again)
	}
}

func decodeBase64(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatalf("base64 part: %v", err)
	}
	return out
}

// TestMonthlyReport: an organisation that asked for it gets last month's
// report by mail on the first run of the month, once; the report command
// prints the same rows.
func TestMonthlyReport(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	cons := filepath.Join(dir, "c.yaml")
	os.WriteFile(cons, []byte(`organisations:
  - id: energy
    name: Example Energi AB
    languages: [sv]
    contacts: [{email: cert@energi.example}]
    assets: [192.0.2.0/24]
    notify: {monthly: true}
`), 0o644)
	cfg := filepath.Join(dir, "tocsin.yaml")
	os.WriteFile(cfg, []byte("notify:\n  sender: {name: CERT-XX, email: cert@cert.example}\nfeeds:\n  - name: partner\n    format: list\n    classification: {type: infected-system}\n"), 0o644)
	list := filepath.Join(dir, "infected.txt")
	os.WriteFile(list, []byte("192.0.2.7\n192.0.2.8\n"), 0o644)
	for _, args := range [][]string{
		{"constituents", "import", cons},
		{"notify", "keygen", "--config", cfg},
		{"ingest", "--config", cfg, "--feed", "partner", list},
	} {
		if r := run(t, data, nil, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
	}
	// The events are from now; the report of this month goes out on the
	// first of the next.
	now := time.Now().UTC()
	next := time.Date(now.Year(), now.Month(), 1, 6, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	month := now.Format("2006-01")
	rep := run(t, data, nil, "report", "monthly", "--org", "energy", "--month", month)
	if rep.code != 0 || !strings.Contains(rep.stdout, "infected,infected-system,192.0.2.7,") || !strings.Contains(rep.stderr, "Infected systems (IP and malware): 2") {
		t.Fatalf("report monthly: %d\n%s%s", rep.code, rep.stdout, rep.stderr)
	}
	for i, want := range []int{2, 0} { // the events and the report, then nothing
		r := run(t, data, nil, "notify", "run", "--config", cfg, "--json", "--now", next.Format(time.RFC3339))
		var s runSummary
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil || s.Messages != want {
			t.Fatalf("run %d: %d %s %s, want %d messages", i, r.code, r.stdout, r.stderr, want)
		}
	}
	l := run(t, data, nil, "notify", "list", "--json")
	if !strings.Contains(l.stdout, `"kind":"monthly"`) || !strings.Contains(l.stdout, `"route":"monthly"`) {
		t.Fatalf("no monthly report in the log: %s", l.stdout)
	}
	var id string
	for _, line := range strings.Split(strings.TrimSpace(l.stdout), "\n") {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		if m["kind"] == "monthly" {
			id, _ = m["id"].(string)
		}
	}
	msg := run(t, data, nil, "notify", "show", id).stdout
	// In the organisation's language, Swedish.
	if !strings.Contains(msg, "Infekterade system (adress och skadlig kod): 2") || !strings.Contains(msg, "Per typ:") || !strings.Contains(msg, "-"+month+".csv") {
		t.Errorf("the monthly message:\n%.2000s", msg)
	}
}

// TestNotifySTARTTLSAuth: delivery to a server that requires STARTTLS and
// a login, its certificate trusted through notify.smtp.ca_file, the
// password from the environment; a wrong password stops the run (nothing
// is marked failed, nobody flagged) and never shows the password.
func TestNotifySTARTTLSAuth(t *testing.T) {
	srv := mailpittest.Start(t, mailpittest.RequireSTARTTLS(), mailpittest.Auth("tocsin", "s3cret-pass"))
	data := t.TempDir()
	cfg := setupNotify(t, data, fmt.Sprintf("  smtp: {addr: %q, tls: starttls, username: tocsin, ca_file: %q}\n", srv.SMTPAddr, srv.CertFile))
	t.Setenv("TOCSIN_SMTP_PASSWORD", "wrong-pass")
	r := run(t, data, nil, "notify", "run", "--config", cfg, "--now", testNow.Format(time.RFC3339))
	if r.code != 1 || strings.Contains(r.stderr+r.stdout, "wrong-pass") || !strings.Contains(r.stderr, "notify.smtp") {
		t.Fatalf("wrong password: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if f := run(t, data, nil, "notify", "flags", "--json"); f.stdout != "" {
		t.Errorf("a refused login flagged recipients: %s", f.stdout)
	}
	t.Setenv("TOCSIN_SMTP_PASSWORD", "s3cret-pass")
	s := runNotify(t, data, cfg)
	if s.Sent != 4 || s.Failed != 0 || s.Messages != 0 {
		t.Fatalf("after fixing the password: %+v, want the 4 messages queued by the first run sent, none built anew", s)
	}
	if n := srv.Count(t); n != 4 {
		t.Errorf("mailpit received %d messages, want 4", n)
	}
}

// TestNotifyRouteTemplate: a route's template explains all its events;
// an unknown one stops the run with the route named.
func TestNotifyRouteTemplate(t *testing.T) {
	data := t.TempDir()
	cfg := setupNotify(t, data, "  routes:\n    - {name: all-as-botnet, template: infected-system}\n")
	r := run(t, data, nil, "notify", "run", "--config", cfg, "--dry-run", "--now", testNow.Format(time.RFC3339))
	if r.code != 0 || !strings.Contains(r.stdout, "all-as-botnet") || strings.Contains(r.stdout, "sårbara") {
		t.Errorf("template infected-system: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("notify:\n  routes:\n    - {name: x, template: nonsense}\n"), 0o644)
	r = run(t, data, nil, "notify", "run", "--config", bad, "--dry-run")
	if r.code != 1 || !strings.Contains(r.stderr, `route x: template "nonsense"`) {
		t.Errorf("unknown template: %d %s", r.code, r.stderr)
	}
}

// TestNotifyEncrypted: a contact with an OpenPGP key gets the message
// signed and encrypted (RFC 3156 multipart/encrypted); its key opens it
// and the signed message inside carries the events.
func TestNotifyEncrypted(t *testing.T) {
	priv, pub, err := tmail.GenerateKey("Abuse desk", "abuse@bredband.example", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	dir := samplesDir(t)
	cfg := filepath.Join(t.TempDir(), "tocsin.yaml")
	os.WriteFile(cfg, []byte("notify:\n  sender: {name: CERT-XX, email: cert@cert.example}\n  lookback: 36500d\n"), 0o644)
	cons := filepath.Join(t.TempDir(), "c.yaml")
	key := "          " + strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n          ")
	os.WriteFile(cons, []byte("organisations:\n  - id: isp-se\n    name: Exempel Bredband AB\n    assets: [198.51.100.0/24]\n    contacts:\n      - email: abuse@bredband.example\n        pgp_key: |\n"+key+"\n"), 0o644)
	for _, args := range [][]string{
		{"constituents", "import", cons},
		{"notify", "keygen", "--config", cfg},
		{"ingest", "--config", cfg, "--feed", "shadowserver", filepath.Join(dir, "scan_dns.csv")},
	} {
		if r := run(t, data, nil, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
	}
	if s := runNotify(t, data, cfg); s.Sent != 1 {
		t.Fatalf("run: %+v", s)
	}
	files, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("Content-Type %s %v, want multipart/encrypted", mt, params)
	}
	if bytes.Contains(raw, []byte("198.51.100.")) {
		t.Error("an event's address is readable in the encrypted message")
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	mr.NextPart() // the version part
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := io.ReadAll(p)
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(priv))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(armorBody(t, block), keys, nil, nil)
	if err != nil {
		t.Fatalf("decrypt with the contact's key: %v", err)
	}
	inner, _ := io.ReadAll(md.UnverifiedBody)
	if !bytes.Contains(inner, []byte("multipart/signed")) || !bytes.Contains(inner, []byte(".csv")) {
		t.Errorf("the decrypted part is not the signed message with its CSV:\n%.600s", inner)
	}
}

func armorBody(t *testing.T, b []byte) io.Reader {
	t.Helper()
	blk, err := armor.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("armor: %v", err)
	}
	return blk.Body
}
