package receive

import (
	"context"
	"errors"
	"time"

	"imageshare/card"
	"imageshare/discovery"
	"imageshare/transfer"
)

// unknownOfferRetries is how many times a fetch asks again when the
// sender says it does not have the offer.
const unknownOfferRetries = 3

// reachAttempts × Options.Timeout is how long a sender that never
// answered is tried (90 s by default), before Options.RetryFor applies.
const reachAttempts = 3

// expiredCardTimeout bounds the first attempt for a card whose expiry has
// passed.
const expiredCardTimeout = 10 * time.Second

// maxCorrupt is how many times one chunk may fail verification before the
// fetch gives up.
const maxCorrupt = 3

// permanent reports whether err will not go away by trying again.
func permanent(err error) bool {
	var se *stopError
	if errors.As(err, &se) {
		return true
	}
	for _, p := range []error{
		context.Canceled, ErrDeclined, card.ErrMalformed,
		discovery.ErrImpostor, discovery.ErrNoAddrs,
		transfer.ErrUnauthorized, transfer.ErrLocked, transfer.ErrExpired, transfer.ErrRevoked,
		transfer.ErrUsedUp, transfer.ErrManifestMismatch, transfer.ErrCannotDecrypt, transfer.ErrUnavailable,
		transfer.ErrBadRequest, transfer.ErrDisk, transfer.ErrFolderBusy, ErrDamagedAtSender,
	} {
		if errors.Is(err, p) {
			return true
		}
	}
	var me *transfer.ManifestError
	var fe *transfer.FileError
	return errors.As(err, &me) || errors.As(err, &fe)
}

// backoff waits between attempts: 1 s, doubling to 30 s, until a deadline.
type backoff struct {
	until    time.Time
	attempts int // waits so far
	// first is the first wait; a second unless a test says otherwise.
	first time.Duration
}

// wait waits before the next attempt, unless that would pass the
// deadline, and reports it (a Retry event).
func (b *backoff) wait(ctx context.Context, err error, emit func(Event)) bool {
	return b.waitUntil(ctx, b.until, err, emit)
}

// waitUntil is wait with an earlier deadline, until.
func (b *backoff) waitUntil(ctx context.Context, until time.Time, err error, emit func(Event)) bool {
	first := b.first
	if first == 0 {
		first = time.Second
	}
	d := min(first<<min(b.attempts, 5), 30*time.Second)
	if time.Now().Add(d).After(until) {
		d = time.Until(until)
		if d <= 0 || !until.Before(b.until) {
			return false
		}
	}
	b.attempts++
	emit(Retry{Attempt: b.attempts + 1, AfterSeconds: d.Seconds(), Message: err.Error(), Err: err, Until: until})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
