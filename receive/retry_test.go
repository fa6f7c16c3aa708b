package receive

import (
	"fmt"
	"testing"

	"imageshare/transfer"
)

// "The sender does not have this offer" is asked again (the retry loop
// bounds how often): another process with the card's peer ID may have
// answered. A locked offer is final.
func TestRetryDecisions(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("fetching chunk 28: %w", &transfer.RemoteError{Code: transfer.CodeUnknownOffer}), false},
		{&transfer.RemoteError{Code: transfer.CodeLocked}, true},
		{&transfer.RemoteError{Code: transfer.CodeUsedUp}, true},
		{&transfer.RemoteError{Code: transfer.CodeBusy}, false},
	} {
		if got := permanent(c.err); got != c.want {
			t.Errorf("permanent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
