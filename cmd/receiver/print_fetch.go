package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"imageshare/console"
	"imageshare/discovery"
	"imageshare/internal/printable"
	"imageshare/receive"
	"imageshare/study"
)

// fetchText prints a fetch's events for staff, on standard error: one
// line each, the study before the question, and a progress bar on a
// terminal unless --quiet or --json.
type fetchText struct {
	w       io.Writer
	verbose bool         // libp2p's detail of each failed attempt
	pacs    *pacsOptions // where the study goes next, if anywhere
	bar     bool         // a progress bar may be drawn

	progress *console.Progress
	started  bool // the bar was made (or found not to be drawn)
}

func (p *fetchText) event(e receive.Event) {
	w := p.w
	switch e := e.(type) {
	case receive.Warning:
		fmt.Fprintf(w, "receiver: warning: %s\n", e.Message)
	case receive.Connecting:
		fmt.Fprintf(w, "receiver: connecting to %s ...\n", e.PeerID)
	case receive.Manifest:
		p.preview(e)
	case receive.Progress:
		if !p.started {
			p.started = true
			p.progress = console.NewProgress(w, e.Total, "receiving", p.bar)
		}
		p.progress.Set(e.Done)
	case receive.SeriesComplete:
		p.progress.Clear()
		fmt.Fprintf(w, "receiver: series %d (%s, %d images) is complete and verified, after %s, in %s\n", e.Number,
			printable.String(e.Description), e.Images, seconds(e.Seconds).Round(10*time.Millisecond), printable.String(e.Dir))
	case receive.Retry:
		p.progress.Clear()
		fmt.Fprintf(w, "receiver: %s; trying again in %s (attempt %d; giving up at %s)\n", plainError(e.Err, p.verbose),
			seconds(e.AfterSeconds).Round(time.Second), e.Attempt, e.Until.Local().Format("15:04:05"))
	case receive.Upgraded:
		fmt.Fprintln(w, "receiver: a direct connection to the sender opened (hole punched); going on over it")
	case receive.Verified:
		p.close()
		fmt.Fprintf(w, "receiver: %d files (%s) verified against their hashes in %s\n", e.Files, study.FormatBytes(e.Bytes), seconds(e.Seconds).Round(time.Millisecond))
		if e.Reused > 0 {
			// Reused counts the files' bytes, Fetched the network's
			// (sealed, compressed): say so, rather than add one to the
			// other.
			fmt.Fprintf(w, "receiver: resumed: %s of the files were already here and %s fetched (%s over the network)\n",
				study.FormatBytes(e.Reused), study.FormatBytes(e.Bytes-e.Reused), study.FormatBytes(e.Fetched))
		}
	case receive.Saved:
		fmt.Fprintf(w, "receiver: study saved in %s\n", e.Dir)
	}
}

// close ends the progress bar, if one is drawn.
func (p *fetchText) close() {
	p.progress.Finish()
	p.progress = nil
}

// preview shows who and what the study is, before any image is fetched
// and before the question. Every value is the sender's, shown with
// printable.String (WriteSummary does so too): none may draw on the
// terminal above the question.
func (p *fetchText) preview(e receive.Manifest) {
	w, m := p.w, e.Manifest
	if e.Site != "" {
		fmt.Fprintf(w, "\nFrom:         %s\n", printable.String(e.Site))
	}
	for _, s := range e.Studies {
		fmt.Fprintln(w)
		study.WriteSummary(w, s)
	}
	report := "no"
	if rf, ok := m.Report(); ok {
		report = fmt.Sprintf("yes (%s, %s)", printable.String(rf.Path), study.FormatBytes(rf.Size))
	}
	fmt.Fprintf(w, "Report:       %s\n", report)
	if e.Resuming() {
		// Network bytes on both sides: what is here counts as it came.
		fmt.Fprintf(w, "Transfer:     %s to fetch (of %s; %s already here)\n", study.FormatBytes(e.ToFetch),
			study.FormatBytes(e.StoredBytes), study.FormatBytes(e.StoredBytes-e.ToFetch))
	} else {
		fmt.Fprintf(w, "Transfer:     %s to fetch (%s of files)\n", study.FormatBytes(e.StoredBytes), study.FormatBytes(e.Bytes))
	}
	if pc := p.pacs; pc != nil && pc.url != "" {
		fmt.Fprintf(w, "Then PACS:    %s", pc.redactedURL())
		if pc.reconciles() && len(e.Studies) > 0 {
			fmt.Fprintf(w, ", filed as %s", describeChanges(e.Studies[0], pc.changes()))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// plainError is err as one line for staff: an unreachable sender without
// libp2p's dial errors, which --verbose and --json keep.
func plainError(err error, verbose bool) string {
	if verbose {
		return err.Error()
	}
	if errors.Is(err, discovery.ErrUnreachable) {
		return "the sender did not answer at any address on the card"
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// fetchJSON writes a fetch's events as JSON Lines, those a script saw
// before the session moved to package receive: the card, each connection,
// the manifest, each complete series and each retry. The summary and an
// error are the command's own (fetchErrorEvent).
type fetchJSON struct{ js *console.JSON }

func (p fetchJSON) event(e receive.Event) {
	switch e.(type) {
	case receive.Card, receive.Connected, receive.Manifest, receive.SeriesComplete, receive.Retry:
		p.js.Emit(e)
	}
}

// fetchErrorEvent is the last JSON line of a fetch that failed; Card
// counts the cards of a scanning session.
type fetchErrorEvent struct {
	Card     int    `json:"card,omitempty"`
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message"`
}

func (fetchErrorEvent) EventType() string { return "error" }

// fetchEvents is where a fetch's events go: the terminal's lines, and the
// JSON lines with --json.
func fetchEvents(text *fetchText, js *console.JSON) func(receive.Event) {
	j := fetchJSON{js}
	return func(e receive.Event) {
		text.event(e)
		j.event(e)
	}
}
