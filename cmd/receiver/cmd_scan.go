package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"imageshare/audit"
)

// runScan reads one card a line from a keyboard-like scanner and fetches
// each in turn. A card that fails is reported and the next is read; the
// exit status is that of the last failure, or 0.
func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := &fetchOptions{}
	fs := newFlags("receiver scan", o)
	pos, err := parseCommon(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{"receiver scan takes no arguments: it reads cards from the scanner"}
	}
	if o.out == "" {
		return &usageError{"--out DIR is required: the folder to save studies in"}
	}
	if o.pacs.local().NamesPatient(o.pacs.issuerFromConfig) {
		// One scanning session takes several patients' cards: one local
		// patient ID for all of them would file studies under the wrong
		// patient.
		return &usageError{"--local-patient-id, --issuer, --local-accession, --local-name, --local-birth-date and --local-sex name one patient: use them with receiver fetch, one card at a time (receiver scan may still use --to-dicomweb)"}
	}
	if err := applyConfig(fs, o); err != nil {
		return err
	}
	if err := o.pacs.check(o.configUsed); err != nil {
		return err
	}
	js := jsonOut(o, stdout)
	var err2 error
	if o.trail, err2 = audit.OpenTrail("receiver", o.audit, stderr); err2 != nil {
		return err2
	}
	defer o.trail.Close()
	app := audit.Local("receiver", "")
	o.trail.Record(audit.ApplicationStart(app))
	defer o.trail.Record(audit.ApplicationStop(app))
	in := bufio.NewReader(stdin)
	var confirm func(string) (bool, error)
	if !o.yes {
		confirm = func(string) (bool, error) { return true, nil }
		if confirmer(o, stdin, stderr) != nil {
			// The scanner types into the terminal; so do staff answering.
			confirm = func(q string) (bool, error) {
				fmt.Fprintf(stderr, "%s [y/N] ", q)
				line, err := in.ReadString('\n')
				if err != nil && line == "" {
					return false, err
				}
				a := strings.ToLower(strings.TrimSpace(line))
				return a == "y" || a == "yes", nil
			}
		}
	}
	var last error
	n, failed := 0, 0
	for {
		fmt.Fprintln(stderr, "receiver: scan a card (Ctrl-D to finish)")
		line, err := in.ReadString('\n')
		text := strings.TrimSpace(line)
		if text != "" {
			n++
			if _, ferr := fetch(ctx, o, text, confirm, stdout, stderr, js); ferr != nil {
				if errors.Is(ferr, context.Canceled) {
					return ferr
				}
				fmt.Fprintf(stderr, "receiver: error: card %d: %v\n", n, ferr)
				js.Emit(fetchErrorEvent{Card: n, ExitCode: exitCode(ferr), Message: ferr.Error()})
				last = ferr
				failed++
			}
		}
		if err != nil {
			break
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: no card was scanned", errCardRead)
	}
	if last != nil {
		return fmt.Errorf("%d of %d cards failed; the last: %w", failed, n, last)
	}
	return nil
}
