package receive

import (
	"errors"
	"fmt"
	"time"

	"imageshare/transfer"
)

// ErrDeclined: staff declined the study at the question; nothing was
// fetched and the sender was not told.
var ErrDeclined = errors.New("declined: nothing was fetched")

// ErrPasscode: the card needs a passcode and none could be had, or the
// one given cannot be used.
var ErrPasscode = errors.New("this card also needs the passcode that the sending hospital gives by phone")

// ErrDamagedAtSender: one chunk failed verification every time it came
// (maxCorrupt times). It comes with the last transfer.ChunkError, which
// wraps transfer.ErrCorrupt.
var ErrDamagedAtSender = errors.New("the sender's copy may be damaged")

// errUpgraded ends an attempt over a relay when a direct connection to
// the sender has opened; the next attempt goes on over it.
var errUpgraded = errors.New("a direct connection opened")

// NeverReachedError: the sender never answered, at any address on the
// card or on the local network. It wraps the last attempt's error
// (discovery.ErrUnreachable), whose libp2p detail a face may show.
type NeverReachedError struct {
	Attempts int
	Err      error
}

func (e *NeverReachedError) Error() string {
	return "the sending computer did not answer at any address on the card; it may be off or its network closed: call the sending hospital"
}

func (e *NeverReachedError) Unwrap() error { return e.Err }

// CardExpiredError: the card's own expiry has passed and no address on it
// answered. It wraps transfer.ErrExpired only: the failure is that of an
// expired offer, not of an unreachable sender.
type CardExpiredError struct {
	Expires time.Time
	Err     error // the attempt's, for a face's detail
}

func (e *CardExpiredError) Error() string {
	return fmt.Sprintf("this card expired on %s; ask the sending hospital for a new one", e.Expires.Local().Format("2006-01-02 15:04 MST"))
}

func (e *CardExpiredError) Unwrap() error { return transfer.ErrExpired }

// InterruptedError: the fetch was cancelled (Ctrl-C). What was verified
// stays, and the same fetch resumes. It wraps context.Canceled.
type InterruptedError struct {
	Verified, Files int
	Dir             string // the study folder
	Err             error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted: %d of %d files are verified and kept in %s; the same command resumes, fetching only the rest", e.Verified, e.Files, e.Dir)
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// stopError is an error of the face's (a hook's, or the question's): the
// session stops at once and does not try again.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

func stop(err error) error {
	if err == nil {
		return nil
	}
	return &stopError{err}
}
