// Package mail composes notification mails and delivers them.
//
// A Message renders to RFC 5322 text with CRLF line ends and 7-bit
// content: RFC 2047 encoded and folded headers, a quoted-printable UTF-8
// text and base64 attachments with RFC 2231 file names. Validate refuses
// what feed data could use to inject headers or exhaust the renderer (line
// breaks and control characters in header values, invalid UTF-8, oversize
// input) with an error that names the field.
//
// A Signer signs a Message as PGP/MIME (RFC 3156, multipart/signed) with
// the CSIRT's OpenPGP key and, for contacts with a PublicKey, encrypts the
// signed message (multipart/encrypted). Output is version 4 OpenPGP, which
// GnuPG 2.2 verifies; the tests check that with gpg itself.
//
// A Sender delivers rendered messages: over SMTP (package mail/smtp) or
// into a folder (Outbox).
package mail
