package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/internal/printable"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

func spoolFlags(name string, dir *string, asJSON *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(dir, "spool", spool.DefaultDir(), "")
	fs.BoolVar(asJSON, "json", false, "")
	return fs
}

// runAudit is `sender audit`: the audit trail, one line an event.
func runAudit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var path string
	var asJSON bool
	fs := flag.NewFlagSet("sender audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&path, "audit", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{"sender audit takes no arguments"}
	}
	return audit.PrintTrail("sender", path, asJSON, stdout, stderr)
}

func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := cli.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		return nil, &usageError{cli.FlagMessage(err)}
	}
	return pos, nil
}

// runList is `sender list`: the spool's offers and where each stands.
func runList(_ context.Context, args []string, stdout io.Writer) error {
	var dir string
	var asJSON bool
	pos, err := parseFlags(spoolFlags("sender list", &dir, &asJSON), args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{"sender list takes no arguments"}
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return err
	}
	recs, err := sp.List()
	if err != nil {
		return err
	}
	now := time.Now()
	if asJSON {
		js := console.NewJSON(stdout)
		for _, r := range recs {
			js.Emit(listedOffer{
				OfferID: r.ID.String(), State: shownState(r, now), PatientName: r.PatientName,
				PatientID: r.PatientID, StudyUID: r.StudyUID, StudyDate: r.StudyDate, Description: r.Description,
				Created: r.Created, Expires: r.Expires, Downloads: r.Downloads(), MaxDownloads: r.MaxDownloads,
				Files: r.Files, Bytes: r.Bytes, Site: r.Site,
			})
		}
		return nil
	}
	if len(recs) == 0 {
		fmt.Fprintf(stdout, "no offers in %s\n", sp.Dir)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFER\tSTATE\tPATIENT\tSTUDY\tCREATED\tEXPIRES\tDOWNLOADS")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%s %s\t%s\t%s\t%d/%d\n", r.ID, shownState(r, now), study.FormatName(r.PatientName), printable.String(r.PatientID),
			study.FormatDate(r.StudyDate), printable.String(r.Description), r.Created.Local().Format("2006-01-02 15:04"),
			r.Expires.Local().Format("2006-01-02 15:04"), r.Downloads(), r.MaxDownloads)
	}
	return tw.Flush()
}

// shownState is an offer's state for sender list: a live offer locked
// after failed proofs says so.
func shownState(r *spool.Record, now time.Time) spool.State {
	if st := r.State(now); st != spool.Live || !r.Locked {
		return st
	}
	return "locked"
}

// runUnlock is `sender unlock ID`: an offer locked after too many failed
// proofs serves its card again, with a fresh budget.
func runUnlock(_ context.Context, args []string, stdout, stderr io.Writer) error {
	return changeOffer("unlock", "unlocked", args, stdout, stderr, func(sp *spool.Spool, id transfer.OfferID, trail *audit.Trail) (string, error) {
		r, err := send.Unlock(sp, id, trail)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("unlocked offer %s (%s); its card works again, with a fresh budget of %d failed attempts",
			id, offerText(r), spool.ProofBudget), nil
	})
}

// runRevoke is `sender revoke ID`: the card stops working at once.
func runRevoke(_ context.Context, args []string, stdout, stderr io.Writer) error {
	return changeOffer("revoke", "revoked", args, stdout, stderr, func(sp *spool.Spool, id transfer.OfferID, trail *audit.Trail) (string, error) {
		r, err := send.Revoke(sp, id, trail)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("revoked offer %s (%s); its encrypted data is deleted and its card no longer works", id, offerText(r)), nil
	})
}

// changeOffer runs `sender VERB ID`: it opens the spool and the audit
// trail, lets change act on the offer and record it, and reports what it
// said, with {"type":done,"offer_id":…} under --json.
func changeOffer(verb, done string, args []string, stdout, stderr io.Writer, change func(*spool.Spool, transfer.OfferID, *audit.Trail) (string, error)) error {
	var dir, auditPath string
	var asJSON bool
	fs := spoolFlags("sender "+verb, &dir, &asJSON)
	fs.StringVar(&auditPath, "audit", "", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"sender " + verb + " takes one offer ID (see sender list)"}
	}
	id, err := transfer.ParseOfferID(pos[0])
	if err != nil {
		return &usageError{err.Error()}
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return err
	}
	trail, err := audit.OpenTrail("sender", auditPath, stderr)
	if err != nil {
		return err
	}
	defer trail.Close()
	said, err := change(sp, id, trail)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "sender: "+said)
	if asJSON {
		console.NewJSON(stdout).Emit(offerChanged{done: done, OfferID: id.String()})
	}
	return nil
}

// offerText names an offer's study for staff: patient, date and
// description, the description made safe for the terminal.
func offerText(r *spool.Record) string {
	return fmt.Sprintf("%s, %s %s", study.FormatName(r.PatientName), study.FormatDate(r.StudyDate), printable.String(r.Description))
}
