package receive

import (
	"context"
	"errors"

	"imageshare/card"
	"imageshare/discovery"
	"imageshare/study"
	"imageshare/transfer"
)

// Kind is why a fetch failed, as a face tells its cases apart: the
// command line maps each to its exit status, a page to its words.
type Kind int

// The kinds of failure, in the order Classify tests them.
const (
	KindOther       Kind = iota
	KindInterrupted      // cancelled (Ctrl-C, the page closed)
	KindMismatch         // the files are not the study shown
	KindImport           // saved, but not all in the PACS
	KindBadCard          // not an imageshare card, or no card in a picture
	KindPasscode         // the card needs a passcode and none was given
	KindWrongCard        // the sender refused the card, or an impostor answered
	KindUnreachable      // the sender never answered
	KindExpired
	KindRevoked
	KindUsedUp
	KindLocked   // too many failed proofs
	KindCorrupt  // data failed verification
	KindDeclined // staff said no at the question
	KindDisk     // the study cannot be written
)

// Classify says which Kind err is.
func Classify(err error) Kind {
	var me *transfer.ManifestError
	switch {
	case errors.Is(err, context.Canceled):
		return KindInterrupted
	case errors.Is(err, study.ErrMismatch):
		// Before anything else: it may come with an import's error.
		return KindMismatch
	case errors.Is(err, ErrImportPartial):
		// Whatever went wrong, it went wrong after the study was saved.
		return KindImport
	case errors.Is(err, card.ErrMalformed), errors.Is(err, card.ErrNoQRCode), errors.Is(err, card.ErrNotImage):
		return KindBadCard
	case errors.Is(err, ErrPasscode):
		return KindPasscode
	case errors.Is(err, discovery.ErrImpostor),
		errors.Is(err, transfer.ErrUnauthorized),
		errors.Is(err, transfer.ErrUnknownOffer),
		errors.Is(err, transfer.ErrManifestMismatch),
		errors.Is(err, transfer.ErrCannotDecrypt):
		return KindWrongCard
	case errors.Is(err, discovery.ErrUnreachable), errors.Is(err, discovery.ErrNoAddrs):
		return KindUnreachable
	case errors.Is(err, transfer.ErrExpired):
		return KindExpired
	case errors.Is(err, transfer.ErrRevoked):
		return KindRevoked
	case errors.Is(err, transfer.ErrUsedUp):
		return KindUsedUp
	case errors.Is(err, transfer.ErrLocked):
		return KindLocked
	case errors.Is(err, transfer.ErrCorrupt), errors.As(err, &me):
		return KindCorrupt
	case errors.Is(err, ErrDeclined):
		return KindDeclined
	case errors.Is(err, transfer.ErrDisk):
		return KindDisk
	}
	return KindOther
}

// Problem is a failed fetch in plain words, for staff in a hurry: what
// happened, and what to do now.
type Problem struct {
	Kind    Kind
	Message string // what happened
	Advice  string // what to do
	Detail  string // the error itself, for IT
}

// Explain says err in plain words (Problem).
func Explain(err error) Problem {
	p := Problem{Kind: Classify(err), Detail: err.Error()}
	switch p.Kind {
	case KindInterrupted:
		p.Message, p.Advice = "The fetch was stopped before the study was complete.", "Read the card again to go on: what arrived verified is kept."
	case KindMismatch:
		p.Message = "REFUSED: the files received are not the study that was shown; they may be another patient's. Nothing went to the PACS; the files are kept in a refused-… folder for inspection."
		p.Advice = "Call the sending hospital, and tell your security officer: the card may be forged."
	case KindImport:
		p.Message, p.Advice = "The study is verified and saved on this station, but not all of it is in the PACS.", "Retry the import once the PACS is working; what it refused is listed."
	case KindBadCard:
		p.Message, p.Advice = "This is not an imageshare card.", "Read the card's QR code again: hold it flat, closer, filling the camera's view; or type or scan its text."
		if errors.Is(err, card.ErrNoQRCode) || errors.Is(err, card.ErrNotImage) {
			p.Message = "No card could be read in this picture."
		}
	case KindPasscode:
		p.Message, p.Advice = "This card also needs a passcode.", "Ask the sending hospital for the passcode by phone, then read the card again."
	case KindWrongCard:
		p.Message, p.Advice = "The sending computer refused this card (or its passcode), or another computer answered in its place.", "Check that this is the patient's card and the passcode is right; otherwise call the sending hospital."
	case KindUnreachable:
		p.Message = "The sending computer did not answer at any address on the card: it may be off, or its network closed."
		p.Advice = "Call the sending hospital and ask them to check their imageshare computer, then read the card again."
	case KindExpired:
		p.Message, p.Advice = "This card has expired.", "Ask the sending hospital for a new card."
		var ce *CardExpiredError
		if errors.As(err, &ce) {
			p.Message = "This card expired on " + ce.Expires.Local().Format("2 Jan 2006 at 15:04") + "."
		}
	case KindRevoked:
		p.Message, p.Advice = "The sending hospital has withdrawn (revoked) this card.", "Call the sending hospital; they can send the study again with a new card."
	case KindUsedUp:
		p.Message, p.Advice = "This card has been used as many times as the sending hospital allowed.", "Ask the sending hospital for a new card."
	case KindLocked:
		p.Message, p.Advice = "This card is locked after too many failed attempts to open it (a wrong passcode?).", "Call the sending hospital: they can unlock it or send a new card."
	case KindCorrupt:
		p.Message, p.Advice = "Data failed verification on the way; nothing unverified was kept.", "Read the card again to try again; if it happens again, call the sending hospital."
	case KindDeclined:
		p.Message, p.Advice = "You said this is not your patient: nothing was fetched, and the sender was not told.", "If that was a mistake, read the card again."
	case KindDisk:
		p.Message, p.Advice = "The study cannot be written on this station: the disk is full or the folder cannot be written.", "Free space on the station's disk (or call IT), then read the card again: what is verified is kept."
	default:
		p.Message, p.Advice = "Something went wrong: "+err.Error()+".", "Try again; if it happens again, call IT with this message."
	}
	return p
}
