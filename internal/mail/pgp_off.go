//go:build !openpgp

// This file stands in for pgp.go while go.mod and go.sum lack go-crypto's
// dependencies (github.com/cloudflare/circl, golang.org/x/crypto), without
// which nothing that imports go-crypto builds. Once they are there, delete
// this file and the "//go:build openpgp" lines of pgp.go and pgp_test.go.

package mail

import (
	"errors"
	"io"
	"time"
)

// ErrNoOpenPGP is what every OpenPGP operation returns in this build.
var ErrNoOpenPGP = errors.New("OpenPGP is not built in: go.sum lacks github.com/cloudflare/circl and golang.org/x/crypto (or build with -tags openpgp)")

// A Signer signs messages with the CSIRT's OpenPGP key (see pgp.go).
type Signer struct{}

// LoadSigner returns ErrNoOpenPGP in this build.
func LoadSigner(armored io.Reader, passphrase []byte) (*Signer, error) { return nil, ErrNoOpenPGP }

// Fingerprint returns "" in this build.
func (s *Signer) Fingerprint() string { return "" }

// ArmoredPublicKey returns ErrNoOpenPGP in this build.
func (s *Signer) ArmoredPublicKey() ([]byte, error) { return nil, ErrNoOpenPGP }

// Sign returns ErrNoOpenPGP in this build.
func (s *Signer) Sign(m *Message) ([]byte, error) { return nil, ErrNoOpenPGP }

// SignEncrypt returns ErrNoOpenPGP in this build.
func (s *Signer) SignEncrypt(m *Message, to ...*PublicKey) ([]byte, error) { return nil, ErrNoOpenPGP }

// A PublicKey is a contact's OpenPGP key, to encrypt to (see pgp.go).
type PublicKey struct{}

// ReadPublicKey returns ErrNoOpenPGP in this build.
func ReadPublicKey(armored string) (*PublicKey, error) { return nil, ErrNoOpenPGP }

// Fingerprint returns "" in this build.
func (k *PublicKey) Fingerprint() string { return "" }

// GenerateKey returns ErrNoOpenPGP in this build.
func GenerateKey(name, email string, now time.Time) (armoredPrivate, armoredPublic []byte, err error) {
	return nil, nil, ErrNoOpenPGP
}
