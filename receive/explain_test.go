package receive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"imageshare/card"
	"imageshare/discovery"
	"imageshare/study"
	"imageshare/transfer"
)

// Every kind of failure has plain words and advice; each error lands in
// its kind, the mismatch first even when an import's error wraps it.
func TestExplain(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind Kind
		says string
	}{
		{fmt.Errorf("reading: %w", card.ErrMalformed), KindBadCard, "not an imageshare card"},
		{fmt.Errorf("photo: %w", card.ErrNoQRCode), KindBadCard, "No card could be read"},
		{ErrPasscode, KindPasscode, "passcode"},
		{&transfer.RemoteError{Code: transfer.CodeUnauthorized}, KindWrongCard, "refused this card"},
		{&NeverReachedError{Attempts: 3, Err: discovery.ErrUnreachable}, KindUnreachable, "did not answer"},
		{&CardExpiredError{Expires: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, KindExpired, "expired on"},
		{&transfer.RemoteError{Code: transfer.CodeExpired}, KindExpired, "expired"},
		{&transfer.RemoteError{Code: transfer.CodeRevoked}, KindRevoked, "revoked"},
		{&transfer.RemoteError{Code: transfer.CodeUsedUp}, KindUsedUp, "as many times"},
		{&transfer.RemoteError{Code: transfer.CodeLocked}, KindLocked, "locked"},
		{&transfer.ChunkError{Index: 1, Err: transfer.ErrCorrupt}, KindCorrupt, "failed verification"},
		{ErrDeclined, KindDeclined, "not your patient"},
		{fmt.Errorf("%w: no space left on device", transfer.ErrDisk), KindDisk, "disk is full"},
		{fmt.Errorf("%w: %w", ErrImportPartial, &study.MismatchError{}), KindMismatch, "REFUSED"},
		{fmt.Errorf("%w: 3 not stored", ErrImportPartial), KindImport, "not all of it is in the PACS"},
		{context.Canceled, KindInterrupted, "stopped"},
		{errors.New("boom"), KindOther, "boom"},
	} {
		p := Explain(c.err)
		if p.Kind != c.kind || !strings.Contains(p.Message, c.says) || p.Advice == "" {
			t.Errorf("Explain(%v) = %+v, want kind %d saying %q, with advice", c.err, p, c.kind, c.says)
		}
	}
}
