package main

import (
	"fmt"
	"io"
	"sync"

	"imageshare/console"
	"imageshare/send"
	"imageshare/study"
)

// printer shows a session's events: as text on standard error for staff,
// and, with --json, as JSON Lines on standard output for scripts.
type printer struct {
	text *textPrinter
	js   *console.JSON // nil without --json
}

// event prints e both ways.
func (p *printer) event(e send.Event) {
	p.text.event(e)
	if p.js != nil && forScripts(e) {
		p.js.Emit(e)
	}
}

// forScripts says whether a session event goes to --json: progress and
// the notes for staff (where the offer is served, warnings) do not.
func forScripts(e send.Event) bool {
	switch e.(type) {
	case send.Packing, send.Sent, send.Warning, send.OwnIdentity, send.ServingOffer, send.HandedOff, send.Stopped:
		return false
	}
	return true
}

// textPrinter writes the events for staff, in today's wording, and draws
// progress bars on a terminal.
type textPrinter struct {
	w io.Writer
	// packBar and sendBars say whether to draw the bars of packing and of
	// sending.
	packBar, sendBars bool

	mu      sync.Mutex
	packing *console.Progress
	bars    map[string]*console.Progress
}

func newTextPrinter(w io.Writer, packBar, sendBars bool) *textPrinter {
	return &textPrinter{w: w, packBar: packBar, sendBars: sendBars, bars: map[string]*console.Progress{}}
}

// locked runs f with the printer's lock: f writes to the printer's writer
// between events, with the bars cleared.
func (p *textPrinter) locked(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	f()
}

// endPacking finishes the packing bar.
func (p *textPrinter) endPacking() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.packing.Finish()
	p.packing = nil
}

func (p *textPrinter) clear() {
	for _, b := range p.bars {
		b.Clear()
	}
}

func (p *textPrinter) printf(format string, args ...any) {
	fmt.Fprintf(p.w, "sender: "+format+"\n", args...)
}

const shownTime = "2006-01-02 15:04 MST"

func (p *textPrinter) event(e send.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := e.(type) {
	case send.Packing:
		if p.packing == nil {
			p.packing = console.NewProgress(p.w, e.Total, "encrypting", p.packBar)
		}
		p.packing.Set(e.Done)
		return
	case send.Sent:
		p.bars[e.OfferID].Add(e.Bytes)
		return
	}
	p.clear()
	switch e := e.(type) {
	case send.Warning:
		p.printf("warning: %s", e.Message)
	case send.Relay:
		if e.Reserved {
			p.printf("relay %s holds a reservation for this sender until %s", e.Relay, e.Expires.Local().Format("15:04"))
		} else {
			p.printf("warning: relay %s: %s; trying again", e.Relay, e.Error)
		}
	case send.OwnIdentity:
		p.printf("sender send (pid %d) serves with the spool's identity; this offer is served with an identity of its own, while this command runs", e.PID)
	case send.ServingOffer:
		p.printf("serving offer %s as %s until %s", e.OfferID, e.PeerID, e.Expires.Local().Format(shownTime))
		p.listening(e.Addrs)
		if !e.Keep {
			p.printf("waiting for the receiving hospital; this stops once they confirm receipt (Ctrl-C to stop now)")
		}
	case send.HandedOff:
		until := "the first verified receipt"
		if e.Keep {
			until = fmt.Sprintf("%d downloads", e.MaxDownloads)
		}
		p.printf("offer %s handed to the sender serving %s (pid %d); it serves it until %s or %s (see sender list)",
			e.OfferID, e.Spool, e.PID, e.Expires.Local().Format(shownTime), until)
	case send.Refused:
		p.printf("warning: refused peer %s for offer %s: %s", e.PeerID, e.OfferID, e.Reason)
	case send.RateLimited:
		p.printf("warning: peer %s is held back after too many failed attempts from its address", e.PeerID)
	case send.Damaged:
		p.printf("error: offer %s: %s is damaged in the spool; send the study again", e.OfferID, e.Message)
	case send.Manifest:
		p.printf("the receiving hospital opened offer %s", e.OfferID)
		if p.bars[e.OfferID] == nil {
			p.bars[e.OfferID] = console.NewProgress(p.w, e.StoredBytes, "sending", p.sendBars)
		}
	case send.Download:
		p.printf("every chunk of offer %s has been sent (download %d, counted by the sender)", e.OfferID, e.Downloads)
	case send.ReceiptRefused:
		p.printf("warning: refused a receipt from %s for offer %s: it claims %d files (%s), not the offer's", e.PeerID, e.OfferID, e.Files, study.FormatBytes(e.Bytes))
	case send.Locked:
		p.printf("error: offer %s is LOCKED after %d failed attempts to open it (a card being guessed at?): it serves no one now", e.OfferID, e.FailedProofs)
		fmt.Fprintf(p.w, "hint: if the receiving hospital mistyped the passcode, sender unlock %s; otherwise send the study again with a new card\n", e.OfferID)
	case send.Receipt:
		p.printf("the receiving hospital confirmed %d files (%s) of offer %s arrived verified", e.Files, study.FormatBytes(e.Bytes), e.OfferID)
	case send.Ended:
		p.printf("offer %s ended (%s); its encrypted data is deleted", e.OfferID, e.State)
	case send.Done:
		switch {
		case e.Receipts > 0:
			p.printf("delivered: offer %s, %d verified receipt(s)", e.OfferID, e.Receipts)
		case e.SentBytes > 0:
			p.printf("not delivered: %s of encrypted data sent, but no receiver confirmed receipt", study.FormatBytes(e.SentBytes))
		default:
			p.printf("not delivered: no receiver fetched the study")
		}
	case send.Serving:
		p.printf("serving %d live offer(s) from %s as %s", e.LiveOffers, e.Spool, e.PeerID)
		p.listening(e.Addrs)
	case send.Stopped:
		p.printf("stopped; offers stay in the spool and are served again at the next start")
	}
}

// listening prints the addresses and ports the sender listens on: the
// hospital's IT opens them in the firewall.
func (p *textPrinter) listening(addrs []string) {
	for _, a := range addrs {
		p.printf("listening on %s", a)
	}
}
