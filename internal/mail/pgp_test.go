package mail

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// gpgHome returns a fresh GnuPG home directory, and stops the agent gpg
// starts in it when the test ends. Without gpg the test is skipped, or
// fails under CI, where gpg must be installed.
func gpgHome(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg not found; install Debian's gnupg package")
		}
		t.Skip("gpg not found; install Debian's gnupg package to run the OpenPGP interoperability tests")
	}
	// A short path: gpg-agent's socket path must fit in sun_path.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The fewest passphrase hash iterations gpg allows: unlocking is what
	// is tested, not its cost.
	if err := os.WriteFile(filepath.Join(dir, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gpg runs gpg in home with the status lines on stdout and returns them,
// failing the test when gpg exits non-zero.
func gpg(t *testing.T, home string, stdin []byte, args ...string) string {
	t.Helper()
	out, err := gpgRun(home, stdin, args...)
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func gpgRun(home string, stdin []byte, args ...string) (string, error) {
	args = append([]string{"--batch", "--homedir", home, "--status-fd", "1", "--pinentry-mode", "loopback"}, args...)
	cmd := exec.Command("gpg", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// gpgKey makes a key in home with gpg itself and returns its fingerprint.
func gpgKey(t *testing.T, home, uid, algo, passphrase string) string {
	t.Helper()
	out := gpg(t, home, nil, "--passphrase", passphrase, "--quick-gen-key", uid, algo, "default", "never")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[1] == "KEY_CREATED" {
			return f[3]
		}
	}
	t.Fatalf("no KEY_CREATED in gpg output:\n%s", out)
	return ""
}

// signedParts takes a message apart as a PGP/MIME-aware mail client does
// (RFC 3156 §5): the first body part of the multipart/signed, byte for
// byte between its delimiter lines, and the signature from the second.
func signedParts(t *testing.T, raw []byte) (signed, sig []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	return signedEntityParts(t, msg.Header.Get("Content-Type"), body)
}

func signedEntityParts(t *testing.T, contentType string, body []byte) (signed, sig []byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	if mt != "multipart/signed" || params["protocol"] != "application/pgp-signature" || params["micalg"] != "pgp-sha256" {
		t.Fatalf("content type = %q, want multipart/signed for PGP with micalg=pgp-sha256", contentType)
	}
	bd := params["boundary"]

	// The raw first part: after the first delimiter line, up to the CRLF
	// that belongs to the next delimiter.
	first := []byte("--" + bd + "\r\n")
	i := bytes.Index(body, first)
	if i < 0 || i > 0 && !bytes.HasSuffix(body[:i], []byte("\r\n")) {
		t.Fatalf("no first delimiter %q in body", first)
	}
	rest := body[i+len(first):]
	j := bytes.Index(rest, []byte("\r\n--"+bd))
	if j < 0 {
		t.Fatal("no second delimiter")
	}
	signed = rest[:j]

	// The same parts through mime/multipart, as a client library sees them.
	mr := multipart.NewReader(bytes.NewReader(body), bd)
	p, err := mr.NextRawPart()
	if err != nil {
		t.Fatalf("first part: %v", err)
	}
	pbody, _ := io.ReadAll(p)
	if _, after, _ := bytes.Cut(signed, []byte("\r\n\r\n")); !bytes.Equal(after, pbody) {
		t.Fatal("raw first part and mime/multipart's first part differ")
	}
	p, err = mr.NextPart()
	if err != nil {
		t.Fatalf("signature part: %v", err)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/pgp-signature") {
		t.Fatalf("second part is %q, want application/pgp-signature", ct)
	}
	sig, _ = io.ReadAll(p)
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("after the signature: %v, want the end", err)
	}
	return signed, sig
}

// gpgVerify runs gpg --verify on the files a client would hand it and
// returns the status output; the test fails unless gpg exits 0.
func gpgVerify(t *testing.T, home string, signed, sig []byte) string {
	t.Helper()
	dir := t.TempDir()
	sigFile, dataFile := filepath.Join(dir, "sig.asc"), filepath.Join(dir, "signed-part")
	os.WriteFile(sigFile, sig, 0o600)
	os.WriteFile(dataFile, signed, 0o600)
	out := gpg(t, home, nil, "--verify", sigFile, dataFile)
	if !strings.Contains(out, "Good signature") {
		t.Fatalf("gpg --verify says no good signature:\n%s", out)
	}
	// VALIDSIG fpr date ts expire version reserved pubkey-algo hash-algo class ...
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 11 && f[1] == "VALIDSIG" {
			if f[6] != "4" || f[9] != "8" {
				t.Errorf("signature version %s hash %s, want 4 and 8 (SHA-256, as micalg says)", f[6], f[9])
			}
		}
	}
	return out
}

func sampleMessage(now time.Time) *Message {
	return &Message{
		From:      Address{"CERT Översikt", "cert@csirt.example"},
		To:        []Address{{"Tổ chức Việt", "abuse@org.example"}},
		Subject:   "Sårbara system i ert nät – TOCSIN-20261124-000123",
		Date:      now,
		MessageID: NewMessageID("TOCSIN-20261124-000123", "csirt.example"),
		Header:    [][2]string{{"X-Tocsin-ID", "TOCSIN-20261124-000123"}, {"Auto-Submitted", "auto-generated"}},
		Text:      "Hej,\n\nVi har sett 2 sårbara system. Xin chào, Olá.\nFrom the feed: trailing space \n\nTOCSIN-20261124-000123\n",
		Attachments: []Attachment{
			{Name: "händelser.csv", ContentType: "text/csv", Data: []byte("time,source.ip\r\n2026-11-24T10:00:00Z,192.0.2.1\n")},
		},
	}
}

func TestSignVerifiesWithGPG(t *testing.T) {
	home := gpgHome(t)
	now := time.Now().Truncate(time.Second)
	priv, pub, err := GenerateKey("CERT Test", "cert@csirt.example", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(bytes.NewReader(priv), nil)
	if err != nil {
		t.Fatal(err)
	}
	gpg(t, home, pub, "--import")

	m := sampleMessage(now)
	raw, err := s.Sign(m)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, raw)
	signed, sig := signedParts(t, raw)
	out := gpgVerify(t, home, signed, sig)
	if !strings.Contains(out, "VALIDSIG "+s.Fingerprint()) {
		t.Errorf("gpg did not report a valid signature by %s:\n%s", s.Fingerprint(), out)
	}

	// What the reader sees: the signed entity is the unsigned body.
	unsigned, _ := m.Bytes()
	if _, entity, _ := bytes.Cut(unsigned, []byte("MIME-Version: 1.0\r\n")); !bytes.Equal(signed, entity) {
		t.Errorf("signed part differs from the unsigned message's entity")
	}
	checkContent(t, "", signed, m)

	// The same message signs to the same bytes.
	again, _ := s.Sign(m)
	if !bytes.Equal(raw, again) {
		t.Error("signing the same message twice gave different bytes")
	}

	// One changed byte in the signed part: gpg refuses.
	bad := bytes.Replace(signed, []byte("VGltZS"), []byte("VGltZT"), 1)
	if bytes.Equal(bad, signed) {
		bad = append(bytes.Clone(signed), ' ')
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.asc"), sig, 0o600)
	os.WriteFile(filepath.Join(dir, "d"), bad, 0o600)
	if out, err := gpgRun(home, nil, "--verify", filepath.Join(dir, "s.asc"), filepath.Join(dir, "d")); err == nil || !strings.Contains(out, "BADSIG") {
		t.Errorf("gpg accepted a changed part (err %v):\n%s", err, out)
	}
}

// checkContent parses entity (a MIME entity: Content-Type, body) as a
// client would and compares text and attachments with m.
func checkContent(t *testing.T, _ string, entity []byte, m *Message) {
	t.Helper()
	e, err := mail.ReadMessage(bytes.NewReader(entity))
	if err != nil {
		t.Fatalf("read entity: %v", err)
	}
	text, atts := decodeEntity(t, e.Header.Get("Content-Type"), e.Header.Get("Content-Transfer-Encoding"), e.Body)
	if want := strings.ReplaceAll(m.Text, "\r\n", "\n"); text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	if len(atts) != len(m.Attachments) {
		t.Fatalf("%d attachments, want %d", len(atts), len(m.Attachments))
	}
	for i, a := range atts {
		if a.Name != m.Attachments[i].Name || !bytes.Equal(a.Data, m.Attachments[i].Data) {
			t.Errorf("attachment %d = %q %q, want %q %q", i, a.Name, a.Data, m.Attachments[i].Name, m.Attachments[i].Data)
		}
	}
}

func TestLoadSignerRSAFromGPG(t *testing.T) {
	home := gpgHome(t)
	fpr := gpgKey(t, home, "RSA CSIRT <rsa@csirt.example>", "rsa2048", "correct horse")
	secret := gpg(t, home, nil, "--passphrase", "correct horse", "--armor", "--export-secret-keys", fpr)
	secret = secret[strings.Index(secret, "-----BEGIN"):]

	for _, tc := range []struct {
		pass string
		want error
	}{
		{"", ErrNeedPassphrase},
		{"wrong", ErrWrongPassphrase},
		{"correct horse", nil},
	} {
		s, err := LoadSigner(strings.NewReader(secret), []byte(tc.pass))
		if !errors.Is(err, tc.want) {
			t.Fatalf("passphrase %q: err = %v, want %v", tc.pass, err, tc.want)
		}
		if err != nil {
			continue
		}
		if s.Fingerprint() != fpr {
			t.Errorf("fingerprint %s, gpg says %s", s.Fingerprint(), fpr)
		}
		raw, err := s.Sign(sampleMessage(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		signed, sig := signedParts(t, raw)
		gpgVerify(t, home, signed, sig)
	}
}

func TestSignEncryptDecryptsWithGPG(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	priv, pub, err := GenerateKey("CERT Test", "cert@csirt.example", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(bytes.NewReader(priv), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, algo := range []string{"rsa2048", "future-default"} { // future-default: ed25519 + cv25519
		t.Run(algo, func(t *testing.T) {
			home := gpgHome(t)
			fpr := gpgKey(t, home, "Contact <abuse@org.example>", algo, "")
			if algo == "rsa2048" { // gpg makes a signing-only RSA key; add the encryption subkey
				gpg(t, home, nil, "--passphrase", "", "--quick-add-key", fpr, "rsa2048", "encr", "never")
			}
			contact, err := ReadPublicKey(gpg(t, home, nil, "--armor", "--export", fpr))
			if err != nil {
				t.Fatal(err)
			}
			gpg(t, home, pub, "--import")

			m := sampleMessage(time.Now()) // not before gpg made the contact's key
			raw, err := s.SignEncrypt(m, contact)
			if err != nil {
				t.Fatal(err)
			}
			checkLines(t, raw)
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); got != m.Subject {
				t.Errorf("outer subject %q, want %q", got, m.Subject)
			}
			mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
				t.Fatalf("content type %q", msg.Header.Get("Content-Type"))
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			p, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			if version, _ := io.ReadAll(p); p.Header.Get("Content-Type") != "application/pgp-encrypted" || !bytes.Contains(version, []byte("Version: 1")) {
				t.Fatalf("first part %q %q, want the PGP/MIME version part", p.Header.Get("Content-Type"), version)
			}
			p, err = mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			ciphertext, _ := io.ReadAll(p)
			if p.Header.Get("Content-Type") != `application/octet-stream; name="encrypted.asc"` {
				t.Errorf("second part is %q", p.Header.Get("Content-Type"))
			}
			if bytes.Contains(ciphertext, []byte("TOCSIN-20261124-000123")) {
				t.Error("the encrypted part shows the text")
			}

			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "msg.asc"), ciphertext, 0o600)
			plain := filepath.Join(dir, "plain")
			out := gpg(t, home, nil, "--passphrase", "", "--output", plain, "--decrypt", filepath.Join(dir, "msg.asc"))
			if !strings.Contains(out, "DECRYPTION_OKAY") {
				t.Fatalf("gpg --decrypt:\n%s", out)
			}
			inner, _ := os.ReadFile(plain)
			e, err := mail.ReadMessage(bytes.NewReader(inner))
			if err != nil {
				t.Fatalf("decrypted entity: %v", err)
			}
			body, _ := io.ReadAll(e.Body)
			signed, sig := signedEntityParts(t, e.Header.Get("Content-Type"), body)
			gpgVerify(t, home, signed, sig)
			checkContent(t, "", signed, m)
		})
	}
}

func TestLoadSignerErrors(t *testing.T) {
	past := time.Now().Add(-48 * time.Hour)
	armored := func(e *openpgp.Entity, cfg *packet.Config, private bool) string {
		var b bytes.Buffer
		typ := openpgp.PublicKeyType
		if private {
			typ = openpgp.PrivateKeyType
		}
		w, _ := armor.Encode(&b, typ, nil)
		if private {
			if err := e.SerializePrivate(w, cfg); err != nil {
				t.Fatal(err)
			}
		} else if err := e.Serialize(w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return b.String()
	}
	entity := func(cfg *packet.Config) *openpgp.Entity {
		e, err := openpgp.NewEntity("T", "", "t@csirt.example", cfg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	eddsa := func(lifetime uint32) *packet.Config {
		return &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return past }, KeyLifetimeSecs: lifetime, DefaultHash: crypto.SHA256}
	}

	expiredCfg := eddsa(3600)
	expired := armored(entity(expiredCfg), expiredCfg, true)

	revokedCfg := eddsa(0)
	re := entity(revokedCfg)
	if err := re.RevokeKey(packet.KeyRetired, "retired", revokedCfg); err != nil {
		t.Fatal(err)
	}
	revoked := armored(re, revokedCfg, true)

	okCfg := eddsa(0)
	oe := entity(okCfg)
	public := armored(oe, okCfg, false)

	v6Cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEd25519, V6Keys: true, Time: func() time.Time { return past }}
	v6 := armored(entity(v6Cfg), v6Cfg, true)

	two := armored(oe, okCfg, true) + "\n" + armored(entity(okCfg), okCfg, true)

	for _, tc := range []struct {
		name, key string
		want      error
		msg       string
	}{
		{"public only", public, ErrNoPrivateKey, "export-secret-keys"},
		{"expired", expired, ErrKeyExpired, "expired"},
		{"revoked", revoked, ErrKeyRevoked, "revoked"},
		{"v6", v6, nil, "version 6"},
		{"garbage", "not a key", nil, "ASCII-armored"},
		{"two keys", two, nil, "2 armored blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSigner(strings.NewReader(tc.key), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to say %q", err, tc.msg)
			}
		})
	}
}

func TestReadPublicKey(t *testing.T) {
	priv, pub, err := GenerateKey("Contact", "abuse@org.example", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ReadPublicKey(string(pub))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := LoadSigner(bytes.NewReader(priv), nil)
	if k.Fingerprint() != s.Fingerprint() || len(k.Fingerprint()) != 40 {
		t.Errorf("fingerprints %s and %s", k.Fingerprint(), s.Fingerprint())
	}
	if spub, _ := s.ArmoredPublicKey(); !bytes.Equal(spub, pub) {
		t.Errorf("ArmoredPublicKey differs from GenerateKey's public key")
	}
	for _, bad := range []struct{ key, msg string }{
		{string(priv), "private key"},
		{"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n", "read public key"},
		{string(pub) + string(pub), "2 armored blocks"},
	} {
		if _, err := ReadPublicKey(bad.key); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("err = %v, want it to say %q", err, bad.msg)
		}
	}
}

func TestSignRefusesDateBeforeKey(t *testing.T) {
	now := time.Now()
	priv, _, _ := GenerateKey("T", "t@csirt.example", now)
	s, _ := LoadSigner(bytes.NewReader(priv), nil)
	if _, err := s.Sign(sampleMessage(now.Add(-time.Hour))); err == nil || !strings.Contains(err.Error(), "before the signing key") {
		t.Errorf("err = %v, want a date before the key refused", err)
	}
	if _, err := s.Sign(&Message{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid message: err = %v, want ErrInvalid", err)
	}
}

func TestSignConcurrent(t *testing.T) {
	now := time.Now()
	priv, _, _ := GenerateKey("T", "t@csirt.example", now.Add(-time.Minute))
	s, _ := LoadSigner(bytes.NewReader(priv), nil)
	m := sampleMessage(now)
	want, _ := s.Sign(m)
	done := make(chan []byte)
	for range 4 {
		go func() {
			b, _ := s.Sign(m)
			done <- b
		}()
	}
	for range 4 {
		if got := <-done; !bytes.Equal(got, want) {
			t.Error("concurrent Sign gave different bytes")
		}
	}
}

// BenchmarkSign signs a typical notification: a 3 KB text and a 50 KB CSV
// attachment, with an Ed25519 key.
func BenchmarkSign(b *testing.B) {
	now := time.Now()
	priv, _, err := GenerateKey("Bench", "bench@csirt.example", now.Add(-time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	s, err := LoadSigner(bytes.NewReader(priv), nil)
	if err != nil {
		b.Fatal(err)
	}
	m := sampleMessage(now)
	m.Text = strings.Repeat("Vi har sett sårbara system i ert nät. Xin chào. Olá.\n", 3000/54)
	var csv strings.Builder
	for i := 0; csv.Len() < 50_000; i++ {
		csv.WriteString("2026-11-24T10:00:00Z,192.0.2.1,64496,vulnerable-system,ssl-freak,Example AS\n")
	}
	m.Attachments[0].Data = []byte(csv.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(m); err != nil {
			b.Fatal(err)
		}
	}
}
