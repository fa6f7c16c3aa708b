package main

import (
	"fmt"
	"io"
	"time"

	"imageshare/console"
	"imageshare/receive"
)

// importPrinter prints the events of an import into the PACS, and of the
// checks of a received folder: text for staff on stderr, and with --json
// the lines scripts read on stdout.
type importPrinter struct {
	stderr io.Writer
	js     *console.JSON // nil without --json
	bars   bool          // draw a progress bar (on a terminal only)
	bar    *console.Progress
}

// event prints e, one at a time.
func (p *importPrinter) event(e receive.ImportEvent) {
	p.text(e)
	p.json(e)
}

// json writes the events --json has always carried: progress, the end of
// the import, and a refused study. The others are for staff.
func (p *importPrinter) json(e receive.ImportEvent) {
	switch e.(type) {
	case *receive.PACSProgress, *receive.Imported, *receive.Mismatch:
		p.js.Emit(e)
	}
}

// maxListed is how many failures or mismatches stderr lists in full;
// past it, 20 and a count (all of them are in --json).
const maxListed = 25

func (p *importPrinter) text(e receive.ImportEvent) {
	w := p.stderr
	switch e := e.(type) {
	case *receive.Reconciling:
		fmt.Fprintf(w, "receiver: reconciling for the PACS: %s (the folder keeps the sender's originals)\n", e.Changes)
	case *receive.ReportNotStored:
		fmt.Fprintf(w, "receiver: warning: the report %s stays in the folder only: %s\n", e.File, e.Reason)
	case *receive.Storing:
		fmt.Fprintf(w, "receiver: storing %d instances in the PACS at %s ...\n", e.Instances, e.URL)
		p.bar = console.NewCounter(w, int64(e.Instances), "PACS", "instances", p.bars)
	case *receive.PACSProgress:
		p.bar.Set(int64(e.Settled))
	case *receive.Imported:
		p.bar.Finish()
		p.imported(e)
	case *receive.Mismatch:
		fmt.Fprintln(w, "receiver: REFUSED: the files received are not the study that was shown; they may be another patient's. Nothing goes to the PACS.")
		for i, m := range e.Mismatches {
			if i == 20 && len(e.Mismatches) > maxListed {
				fmt.Fprintf(w, "  ... and %d more (all in --json)\n", len(e.Mismatches)-i)
				break
			}
			fmt.Fprintf(w, "  %s: %s is %s in the file, %s in the summary shown\n", m.File, m.Attribute, quoteValue(m.Found), quoteValue(m.Shown))
		}
		fmt.Fprintln(w, "hint: call the sending hospital, and tell your security officer: the card may be forged")
	case *receive.Quarantined:
		if e.Err == "" {
			fmt.Fprintf(w, "receiver: the files are kept for inspection in %s; nothing was sent to the PACS, and the sender was not told the study arrived\n", e.Dir)
		} else {
			fmt.Fprintf(w, "receiver: warning: the files stay in %s (%s): do not import them\n", e.Dir, e.Err)
		}
	}
}

// imported says what the PACS holds, and if not all, what stays in the
// folder and how to store it again.
func (p *importPrinter) imported(e *receive.Imported) {
	w := p.stderr
	if len(e.Failed) == 0 {
		took := time.Duration(e.Seconds * float64(time.Second)).Round(time.Millisecond)
		fmt.Fprintf(w, "receiver: all %d instances are in the PACS (checked by QIDO-RS) in %s\n", e.Stored, took)
		return
	}
	fmt.Fprintf(w, "receiver: %d of %d instances are NOT in the PACS; they stay in %s:\n", len(e.Failed), e.Stored+len(e.Failed), e.Dir)
	for i, f := range e.Failed {
		if i == 20 && len(e.Failed) > maxListed {
			fmt.Fprintf(w, "  ... and %d more (all in --json)\n", len(e.Failed)-i)
			break
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", f.File, f.SOP, f.Reason)
	}
	again := "--to-dicomweb " + e.URL
	if e.Reconciled {
		again += " (and the same --local-… options)"
	}
	fmt.Fprintf(w, "hint: once the PACS takes them, store the study again from the folder: receiver import %s %s\n", again, e.Dir)
}

// quoteValue quotes a value from a file for the terminal: %q escapes
// control and bidirectional-override characters.
func quoteValue(s string) string {
	return fmt.Sprintf("%q", s)
}
