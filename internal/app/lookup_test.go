package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// securityTxtServer is a loopback HTTPS server answering for the names
// in files ("host/path" to body), and a client that trusts it and reaches
// it whatever host it asks for: no request leaves 127.0.0.1.
func securityTxtServer(t *testing.T, files map[string]string) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.Host+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, body)
	}))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tocsin test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"example.com", "*.example.com", "example.net", "*.example.net", "example.org"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	loopback := srv.Listener.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, loopback)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr}
}

// runCmd runs fn as a tocsin command would be run, with client for the
// outgoing requests.
func runCmd(t *testing.T, dataDir string, client *http.Client, fn func(context.Context, *Env, []string) int, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, HTTPClient: client,
		Getenv: func(k string) string {
			if k == "TOCSIN_DATA_DIR" {
				return dataDir
			}
			return ""
		}}
	t.Setenv("TOCSIN_DATA_DIR", dataDir)
	t.Setenv("TOCSIN_DATABASE", "")
	code := fn(context.Background(), env, args)
	return result{code, out.String(), errb.String()}
}

func importYAML(t *testing.T, data, yaml string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "constituents.yaml")
	os.WriteFile(f, []byte(yaml), 0o644)
	if r := run(t, data, nil, "constituents", "import", f); r.code != 0 {
		t.Fatalf("import: exit %d %s", r.code, r.stderr)
	}
}

// TestSecurityTxtCache: refresh-security-txt and lookup --security-txt
// fill the cache in the data directory; a later run, with the server
// gone, reads it: lookup shows the contact with its source, and ingested
// events of an organisation that has only a domain get it as their abuse
// contact. An expired file is not used; the file at the Canonical URI is
// preferred.
func TestSecurityTxtCache(t *testing.T) {
	data := t.TempDir()
	importYAML(t, data, `organisations:
  - id: web-only
    name: Web Only AB
    assets: [example.com]
  - id: lapsed
    name: Lapsed AB
    assets: [example.net]
`)
	srv, client := securityTxtServer(t, map[string]string{
		// The apex's file says its canonical place is on www.
		"example.com/.well-known/security.txt":     "Canonical: https://www.example.com/.well-known/security.txt\nContact: mailto:stale@example.com\nExpires: 2099-01-01T00:00:00Z\n",
		"www.example.com/.well-known/security.txt": "Canonical: https://www.example.com/.well-known/security.txt\nContact: mailto:security@example.com\nContact: https://example.com/report\nExpires: 2099-01-01T00:00:00Z\n",
		"example.net/.well-known/security.txt":     "Contact: mailto:old@example.net\nExpires: 2020-01-01T00:00:00Z\n",
		"example.org/.well-known/security.txt":     "Contact: mailto:cert@example.org\nExpires: 2099-01-01T00:00:00Z\n",
	})

	r := runCmd(t, data, client, RefreshSecurityTxt, "-v")
	if r.code != 0 || !strings.Contains(r.stdout, "2 domains, 0 fresh, 2 fetched (1 with a usable file)") ||
		!strings.Contains(r.stdout, "example.com\tsecurity@example.com\n") || !strings.Contains(r.stdout, "example.net\t") {
		t.Fatalf("refresh: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(t, data, client, RefreshSecurityTxt); r.code != 0 || !strings.Contains(r.stdout, "2 domains, 2 fresh, 0 fetched") {
		t.Errorf("second refresh fetched what is fresh: %s%s", r.stdout, r.stderr)
	}
	if r := runCmd(t, data, client, cmdLookup, "--security-txt", "example.org"); r.code != 0 || !strings.Contains(r.stdout, "cert@example.org (security.txt)") {
		t.Errorf("lookup --security-txt: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	srv.Close()
	if _, err := os.Stat(filepath.Join(data, "cache", "security-txt.json")); err != nil {
		t.Fatalf("no cache file: %v", err)
	}

	// From here on there is no server: every answer comes from the cache.
	r = run(t, data, nil, "lookup", "--json", "www.example.com", "example.net", "example.org")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("lookup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for i, want := range []string{
		`"org":{"id":"manual:web-only","name":"Web Only AB"},"contacts":[{"email":"security@example.com","source":"security.txt"},{"email":"abuse@example.com","source":"rfc2142"}]`,
		`"contacts":[{"email":"abuse@example.net","source":"rfc2142"}]`, // expired file
		`"org":null,"contacts":[{"email":"cert@example.org","source":"security.txt"},{"email":"abuse@example.org","source":"rfc2142"}]`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("lookup line %d: %s\nwant %s", i+1, lines[i], want)
		}
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "tocsin.yaml")
	os.WriteFile(cfg, []byte("feeds:\n  - name: partner\n    format: list\n    classification: {type: phishing}\n"), 0o644)
	list := filepath.Join(dir, "urls.txt")
	os.WriteFile(list, []byte("https://login.example.com/x\nhttps://mail.example.net/y\n"), 0o644)
	if r := run(t, data, nil, "ingest", "--config", cfg, "--feed", "partner", list); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	ev := run(t, data, nil, "events", "--config", cfg, "--json").stdout
	for _, want := range []string{`"source.abuse_contact":"security@example.com"`, `"source.abuse_contact":"abuse@example.net"`, `"extra.source.org":"manual:web-only"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %s:\n%s", want, ev)
		}
	}
}

// TestLookupCIDR: a CIDR answers with the holder of the whole range and
// the holders of the assets inside it.
func TestLookupCIDR(t *testing.T) {
	data := t.TempDir()
	var many strings.Builder
	for i := range 101 {
		fmt.Fprintf(&many, ", 203.0.113.%d/32", i)
	}
	importYAML(t, data, `organisations:
  - id: alloc
    name: Allocation AB
    contacts: [{email: noc@alloc.example}]
    assets: [198.51.100.0/24]
  - id: cust
    name: Customer AB
    assets: [198.51.100.64/26, 198.51.100.128/28, 2001:db8:1::/48]
  - id: hosts
    name: Hosts AB
    assets: [203.0.113.0/24`+many.String()+`]
`)
	type inside struct {
		Org     struct{ ID string }
		Network string
	}
	type answer struct {
		Target, Network string
		Org             *struct{ ID string }
		Contacts        []struct{ Email, Source string }
		OwnersInside    []inside `json:"owners_inside"`
		Truncated       *bool
	}
	tests := []struct {
		target, org string
		inside      []string // "org network"
		truncated   bool
	}{
		{"198.51.100.0/24", "manual:alloc", []string{"manual:cust 198.51.100.64/26", "manual:cust 198.51.100.128/28"}, false},
		{"198.51.100.1/25", "manual:alloc", []string{"manual:cust 198.51.100.64/26"}, false},
		{"198.51.100.64/27", "manual:cust", nil, false},
		{"198.51.0.0/16", "", []string{"manual:alloc 198.51.100.0/24", "manual:cust 198.51.100.64/26", "manual:cust 198.51.100.128/28"}, false},
		{"2001:db8::/32", "", []string{"manual:cust 2001:db8:1::/48"}, false},
		{"203.0.113.0/24", "manual:hosts", nil, true},
	}
	var args []string
	for _, tt := range tests {
		args = append(args, tt.target)
	}
	r := run(t, data, nil, append([]string{"lookup", "--json"}, args...)...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != len(tests) {
		t.Fatalf("lookup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for i, tt := range tests {
		var a answer
		if err := json.Unmarshal([]byte(lines[i]), &a); err != nil {
			t.Fatalf("%s: %v", lines[i], err)
		}
		org := ""
		if a.Org != nil {
			org = a.Org.ID
		}
		var got []string
		for _, in := range a.OwnersInside {
			got = append(got, in.Org.ID+" "+in.Network)
		}
		if tt.truncated {
			if len(got) != 100 {
				t.Errorf("%s: %d owners inside, want 100", tt.target, len(got))
			}
			got = nil
		}
		if org != tt.org || strings.Join(got, ",") != strings.Join(tt.inside, ",") || a.Truncated == nil || *a.Truncated != tt.truncated {
			t.Errorf("%s: %s\nwant org %q, inside %q, truncated %v", tt.target, lines[i], tt.org, tt.inside, tt.truncated)
		}
	}
	if !strings.Contains(lines[0], `"contacts":[{"email":"noc@alloc.example","source":"manual"}]`) {
		t.Errorf("contacts of the holder of the whole range: %s", lines[0])
	}
	// Other targets have neither key.
	if r := run(t, data, nil, "lookup", "--json", "198.51.100.70"); strings.Contains(r.stdout, "owners_inside") || !strings.Contains(r.stdout, `"manual:cust"`) {
		t.Errorf("lookup of an address: %s", r.stdout)
	}
	if r := run(t, data, nil, "lookup", "198.51.100.0/24"); !strings.Contains(r.stdout, "inside: 198.51.100.64/26 Customer AB, 198.51.100.128/28 Customer AB") {
		t.Errorf("text lookup of a CIDR: %s", r.stdout)
	}
}
