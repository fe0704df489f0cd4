package mail

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// A Signer signs messages with the CSIRT's OpenPGP key, and encrypts them
// to contacts who have a key. It holds the unlocked private key and is
// safe for concurrent use.
type Signer struct {
	entity *openpgp.Entity
	keyID  uint64 // the signing (sub)key
}

// LoadSigner reads one ASCII-armored OpenPGP private key (gpg --armor
// --export-secret-keys, or GenerateKey) and unlocks it with passphrase,
// which may be nil for a key without one. The key must be a version 4 key
// with an algorithm GnuPG 2.2 verifies (RSA, DSA, ECDSA, EdDSA), valid now
// and able to sign. Errors wrap ErrNoPrivateKey, ErrNeedPassphrase,
// ErrWrongPassphrase, ErrKeyExpired or ErrKeyRevoked where they apply.
func LoadSigner(armored io.Reader, passphrase []byte) (*Signer, error) {
	el, err := readKeyRing(armored)
	if err != nil {
		return nil, fmt.Errorf("read signing key (ASCII-armored OpenPGP expected): %w", err)
	}
	var secret []*openpgp.Entity
	for _, e := range el {
		if e.PrivateKey != nil {
			secret = append(secret, e)
		}
	}
	switch len(secret) {
	case 0:
		return nil, fmt.Errorf("read signing key: %w", ErrNoPrivateKey)
	case 1:
	default:
		return nil, fmt.Errorf("read signing key: %d private keys in one file; export only the CSIRT's key", len(secret))
	}
	e := secret[0]
	fp := fingerprint(e)
	now := time.Now()
	if e.PrimaryKey.Version != 4 {
		return nil, fmt.Errorf("signing key %s: OpenPGP version %d; GnuPG 2.2 verifies only version 4 signatures, use a v4 key", fp, e.PrimaryKey.Version)
	}
	if e.Revoked(now) {
		return nil, fmt.Errorf("signing key %s: %w", fp, ErrKeyRevoked)
	}
	sig, _ := e.PrimarySelfSignature()
	if sig == nil {
		return nil, fmt.Errorf("signing key %s: no valid self-signature", fp)
	}
	if e.PrimaryKey.KeyExpired(sig, now) {
		return nil, fmt.Errorf("signing key %s: %w%s; extend it with gpg --quick-set-expire", fp, ErrKeyExpired, expiry(e.PrimaryKey, sig))
	}
	key, ok := e.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("signing key %s: no subkey can sign now (%w or %w?)", fp, ErrKeyExpired, ErrKeyRevoked)
	}
	switch key.PublicKey.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly, packet.PubKeyAlgoDSA,
		packet.PubKeyAlgoECDSA, packet.PubKeyAlgoEdDSA:
	default:
		return nil, fmt.Errorf("signing key %s: algorithm %d is one GnuPG 2.2 cannot verify; use an EdDSA (ed25519) or RSA key", fp, key.PublicKey.PubKeyAlgo)
	}
	if key.PrivateKey == nil || key.PrivateKey.Dummy() {
		return nil, fmt.Errorf("signing key %s: %w for the signing subkey %X", fp, ErrNoPrivateKey, key.PublicKey.KeyId)
	}
	if key.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("signing key %s: %w", fp, ErrNeedPassphrase)
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("signing key %s: %w (%v)", fp, ErrWrongPassphrase, err)
		}
	}
	return &Signer{entity: e, keyID: key.PublicKey.KeyId}, nil
}

// maxKeyFile bounds an armored key file; real ones are a few kilobytes.
const maxKeyFile = 1 << 20

// readKeyRing reads one armored block of keys. openpgp reads only the
// first of several blocks; a second one is refused rather than ignored.
func readKeyRing(r io.Reader) (openpgp.EntityList, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes", maxKeyFile)
	}
	if n := bytes.Count(data, []byte("-----BEGIN PGP")); n > 1 {
		return nil, fmt.Errorf("%d armored blocks; give exactly one key", n)
	}
	return openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
}

func expiry(pk *packet.PublicKey, sig *packet.Signature) string {
	if sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return ""
	}
	return " on " + pk.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs)*time.Second).UTC().Format(time.DateOnly)
}

func fingerprint(e *openpgp.Entity) string {
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string { return fingerprint(s.entity) }

// ArmoredPublicKey returns the public half of the key, ASCII-armored, for
// publishing (a web page, a keyserver, a contact's keyring).
func (s *Signer) ArmoredPublicKey() ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := s.entity.Serialize(w); err != nil {
		return nil, fmt.Errorf("serialize public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// config returns the settings for one message: SHA-256, the signing
// subkey chosen at load time, and the message's Date as the time of the
// signature, with no random salt notation: Ed25519 and RSA PKCS#1 v1.5
// signatures are deterministic, so the same message signs to the same
// bytes and a re-sent notification is recognised as a duplicate.
func (s *Signer) config(at time.Time) *packet.Config {
	deterministic := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA256,
		DefaultCipher:                         packet.CipherAES256,
		Time:                                  func() time.Time { return at },
		SigningKeyId:                          s.keyID,
		NonDeterministicSignaturesViaNotation: &deterministic,
	}
}

// Sign renders m as a PGP/MIME signed message (RFC 3156 §5):
// multipart/signed with micalg=pgp-sha256, whose first part is the MIME
// entity of the text and attachments exactly as Bytes would render it and
// whose second part is the ASCII-armored detached signature over that
// entity's canonical (CRLF) bytes. The message headers (From, To, Subject,
// Date, Message-ID, Header) stay outside the signature. The signature is
// dated m.Date, which must not be before the key was made.
func (s *Signer) Sign(m *Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(m.encodedSize() + 1024)
	m.writeHeader(&b)
	b.WriteString("MIME-Version: 1.0\r\n")
	if err := s.writeSigned(&b, m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeSigned writes the multipart/signed entity of m: its Content-Type
// field and body.
func (s *Signer) writeSigned(b *bytes.Buffer, m *Message) error {
	if m.Date.Before(s.entity.PrimaryKey.CreationTime) {
		return fmt.Errorf("sign: date %s is before the signing key was made (%s)",
			m.Date.Format(time.RFC3339), s.entity.PrimaryKey.CreationTime.Format(time.RFC3339))
	}
	bd := boundary(m.MessageID, "signed")
	writeHeader(b, "Content-Type", mime.FormatMediaType("multipart/signed", map[string]string{
		"boundary": bd,
		"micalg":   "pgp-sha256",
		"protocol": "application/pgp-signature",
	}))
	b.WriteString("\r\nThis is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n")
	b.WriteString("--" + bd + "\r\n")
	start := b.Len()
	m.writeEntity(b)
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, s.entity, bytes.NewReader(b.Bytes()[start:]), s.config(m.Date)); err != nil {
		return fmt.Errorf("sign with key %s: %w", s.Fingerprint(), err)
	}
	b.WriteString("\r\n--" + bd + "\r\n")
	b.WriteString("Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n")
	b.WriteString("Content-Description: OpenPGP digital signature\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n")
	writeCRLF(b, sig.Bytes())
	b.WriteString("\r\n--" + bd + "--\r\n")
	return nil
}

// writeCRLF writes armored text (LF line ends) with CRLF line ends and no
// final line break.
func writeCRLF(b *bytes.Buffer, text []byte) {
	text = bytes.TrimRight(text, "\r\n")
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		if len(rest) > 0 {
			b.WriteString("\r\n")
		}
		text = rest
	}
}

// SignEncrypt renders m signed as Sign does, then encrypts that signed
// entity to the recipients' keys and to the signer's own key when it has
// an encryption subkey (so the CSIRT can read its copies): a PGP/MIME
// encrypted message (RFC 3156 §4 and §6.1). The Subject and the other
// headers stay readable in the outer header; protected headers are not
// written. Unlike Sign, the output differs on every call (a fresh
// session key).
func (s *Signer) SignEncrypt(m *Message, to ...*PublicKey) ([]byte, error) {
	if len(to) == 0 {
		return nil, fmt.Errorf("encrypt: no recipient key")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var inner bytes.Buffer
	inner.Grow(m.encodedSize() + 1024)
	if err := s.writeSigned(&inner, m); err != nil {
		return nil, err
	}

	cfg := s.config(m.Date)
	recipients := make([]*openpgp.Entity, 0, len(to)+1)
	for _, k := range to {
		if _, ok := k.entity.EncryptionKey(m.Date); !ok {
			return nil, fmt.Errorf("encrypt to key %s: no encryption subkey valid on %s (expired or revoked?)", k.Fingerprint(), m.Date.Format(time.DateOnly))
		}
		recipients = append(recipients, k.entity)
	}
	if _, ok := s.entity.EncryptionKey(m.Date); ok {
		recipients = append(recipients, s.entity)
	}
	var ct bytes.Buffer
	aw, err := armor.Encode(&ct, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	pw, err := openpgp.Encrypt(aw, recipients, nil, &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if _, err := pw.Write(inner.Bytes()); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := pw.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}

	var b bytes.Buffer
	b.Grow(ct.Len()*102/100 + 2048)
	m.writeHeader(&b)
	b.WriteString("MIME-Version: 1.0\r\n")
	bd := boundary(m.MessageID, "encrypted")
	writeHeader(&b, "Content-Type", mime.FormatMediaType("multipart/encrypted", map[string]string{
		"boundary": bd,
		"protocol": "application/pgp-encrypted",
	}))
	b.WriteString("\r\nThis is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	b.WriteString("--" + bd + "\r\n")
	b.WriteString("Content-Type: application/pgp-encrypted\r\n")
	b.WriteString("Content-Description: PGP/MIME version identification\r\n\r\n")
	b.WriteString("Version: 1\r\n")
	b.WriteString("\r\n--" + bd + "\r\n")
	b.WriteString("Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n")
	b.WriteString("Content-Description: OpenPGP encrypted message\r\n")
	b.WriteString("Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n")
	writeCRLF(&b, ct.Bytes())
	b.WriteString("\r\n--" + bd + "--\r\n")
	return b.Bytes(), nil
}

// A PublicKey is a contact's OpenPGP key, to encrypt to.
type PublicKey struct {
	entity *openpgp.Entity
}

// ReadPublicKey parses one ASCII-armored OpenPGP public key, as a contact
// sends it (gpg --armor --export ADDRESS). It refuses a private key (the
// contact should keep it), several keys, and a key that cannot encrypt
// now (revoked, expired, or no encryption subkey).
func ReadPublicKey(armored string) (*PublicKey, error) {
	el, err := readKeyRing(strings.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("read public key (ASCII-armored OpenPGP expected, gpg --armor --export): %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("read public key: %d keys in one block; give exactly one", len(el))
	}
	e := el[0]
	fp := fingerprint(e)
	if e.PrivateKey != nil {
		return nil, fmt.Errorf("read public key %s: this is a private key; give only the public key (gpg --armor --export)", fp)
	}
	now := time.Now()
	if e.Revoked(now) {
		return nil, fmt.Errorf("read public key %s: %w", fp, ErrKeyRevoked)
	}
	if _, ok := e.EncryptionKey(now); !ok {
		return nil, fmt.Errorf("read public key %s: no encryption subkey valid now (%w, %w, or a signing-only key)", fp, ErrKeyExpired, ErrKeyRevoked)
	}
	return &PublicKey{entity: e}, nil
}

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (k *PublicKey) Fingerprint() string { return fingerprint(k.entity) }

// GenerateKey makes a new OpenPGP version 4 key for name and email, dated
// now, that GnuPG 2.2 understands: an Ed25519 (EdDSA) primary key for
// signing and certifying and an X25519 (ECDH) subkey for encryption,
// without expiry and without a passphrase (protect the file instead). It
// returns both halves ASCII-armored.
func GenerateKey(name, email string, now time.Time) (armoredPrivate, armoredPublic []byte, err error) {
	if err := checkHeaderText(name, maxNameLen); err != nil || strings.ContainsAny(name, "()<>") {
		return nil, nil, fmt.Errorf("generate key: name %q: must be text without ()<> or control characters", name)
	}
	if err := (Address{Email: email}).check(); err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	cfg := &packet.Config{
		Algorithm:     packet.PubKeyAlgoEdDSA, // the v4 "EdDSA legacy" algorithm; RFC 9580's Ed25519 is unknown to GnuPG 2.2
		Curve:         packet.Curve25519,
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return now },
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	var priv, pub bytes.Buffer
	w, err := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := e.SerializePrivate(w, cfg); err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	priv.WriteByte('\n')
	w, err = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	pub.WriteByte('\n')
	return priv.Bytes(), pub.Bytes(), nil
}
