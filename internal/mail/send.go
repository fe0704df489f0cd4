package mail

import (
	"context"
	"errors"
	"fmt"
)

// Envelope is who a message is delivered from and to, apart from its
// headers (SMTP's MAIL FROM and RCPT TO), and the notification ID it
// carries, which the outbox uses to name its file.
type Envelope struct {
	From  string   // bare address; bounces come back to it
	To    []string // bare addresses
	Ident string   // e.g. "TOCSIN-20261124-000123"; may be ""
}

// A Sender delivers rendered messages: over SMTP (package mail/smtp) or
// into an outbox folder (Outbox).
type Sender interface {
	// Send delivers msg, a complete RFC 5322 message with CRLF line ends.
	// A nil error means the server accepted it for every recipient. An
	// error for which Temporary reports true may succeed later (SMTP 4xx,
	// a connection that failed); any other error is permanent (SMTP 5xx).
	Send(ctx context.Context, env Envelope, msg []byte) error
}

// SendError is a failure reported by the mail server.
type SendError struct {
	Code      int    // SMTP reply code, 0 when there was none (connection failure)
	Temporary bool   // retrying later may succeed
	Recipient string // the recipient refused, "" when the whole message was
	Err       error
}

func (e *SendError) Error() string {
	s := "send"
	if e.Recipient != "" {
		s += " to " + e.Recipient
	}
	if e.Code != 0 {
		s += fmt.Sprintf(": %d", e.Code)
	}
	return s + ": " + e.Err.Error()
}

func (e *SendError) Unwrap() error { return e.Err }

// Temporary reports whether err is worth retrying later. Errors that are
// not a *SendError (a context cancelled, a network failure) count as
// temporary: nothing says the recipient refused.
func Temporary(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	return err != nil
}
