package mail

import "errors"

// Errors from LoadSigner and ReadPublicKey, to tell the operator what to fix.
var (
	ErrNoPrivateKey    = errors.New("no private key; export it with gpg --armor --export-secret-keys KEYID")
	ErrNeedPassphrase  = errors.New("the private key is protected by a passphrase; none given")
	ErrWrongPassphrase = errors.New("wrong passphrase for the private key")
	ErrKeyExpired      = errors.New("key expired")
	ErrKeyRevoked      = errors.New("key revoked")
)
