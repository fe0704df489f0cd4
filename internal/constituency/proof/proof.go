// Package proof is how an organisation proves that it holds an asset it
// registered itself, before any event is attributed to it:
//
//   - a domain, by publishing a DNS TXT record that only tocsin can compute
//     (Key.Challenge, Key.Verify):
//
//     _tocsin-challenge.example.se. TXT "tocsin-domain-verification=<token>"
//
//   - an IP range or an AS number, by following a confirmation link that
//     tocsin mails to the RIPE abuse-c of the resource (RIPEAbuseC,
//     Key.LinkToken, Mail, Key.ParseLinkToken).
//
// Both proofs are HMAC-SHA256 tokens under one secret Key kept in the data
// directory, so nothing about pending proofs is stored: the DNS token is
// computed again from the organisation and the domain, and the link token
// carries the organisation, the asset and its expiry, authenticated.
// Replacing the key file invalidates every challenge and link given out.
package proof

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the key's file in the data directory.
const KeyFile = "proof.key"

// keySize is the length of a key made by LoadKey, in bytes.
const keySize = 32

// Key is the secret under which proofs are made and checked. It is safe
// for concurrent use.
type Key struct {
	secret []byte
}

// NewKey returns a key with secret, which must be at least 32 bytes long.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < keySize {
		return nil, fmt.Errorf("proof key: %d bytes, need at least %d", len(secret), keySize)
	}
	return &Key{secret: append([]byte(nil), secret...)}, nil
}

// LoadKey reads the key in dataDir/proof.key (hex), creating it with 32
// random bytes and mode 0600 when it does not exist. A key file that others
// than its owner may read is an error: anyone who reads it can confirm any
// asset.
func LoadKey(dataDir string) (*Key, error) {
	path := filepath.Join(dataDir, KeyFile)
	secret := make([]byte, keySize)
	rand.Read(secret)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, err = f.WriteString(hex.EncodeToString(secret) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("create proof key: %w", err)
		}
		return NewKey(secret)
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("create proof key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("proof key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("proof key %s: mode %v lets others read it; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("proof key: %w", err)
	}
	secret, err = hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(secret) < keySize {
		return nil, fmt.Errorf("proof key %s: not %d or more bytes in hex; remove it to make a new one (challenges and links given out stop working)", path, keySize)
	}
	return NewKey(secret)
}

// mac returns the HMAC-SHA256 of the parts, each ended by a NUL, under k;
// purpose comes first so that a token of one kind never passes as another.
func (k *Key) mac(purpose string, parts ...string) []byte {
	h := hmac.New(sha256.New, k.secret)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}
