package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/receive"
	"imageshare/transfer"
)

// fetchOptions are the flags of receiver fetch, scan and import, and what
// they open.
type fetchOptions struct {
	out, qr, uriFile  string
	yes, json, quiet  bool
	verbose           bool // libp2p's detail of each failed attempt
	stdin             bool
	timeout, retryFor time.Duration
	passcodeFile      string
	audit             string
	first             cli.StringList // series to fetch first
	trail             *audit.Trail   // opened from audit
	maxRate           float64        // bytes a second, 0 for no limit
	connections       int            // to the sender, on a direct path
	pacs              pacsOptions
	configFile        string // --config: the station's receiver.toml
	configUsed        string // the configuration read, "" if none
}

// maxConnections bounds --connections: the sender serves at most 16
// streams an offer.
const maxConnections = 8

func newFlags(name string, o *fetchOptions) *flag.FlagSet {
	o.connections = 1
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.out, "out", "", "")
	fs.BoolVar(&o.yes, "yes", false, "")
	fs.BoolVar(&o.yes, "y", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "")
	fs.DurationVar(&o.retryFor, "retry-for", 10*time.Minute, "")
	fs.StringVar(&o.passcodeFile, "passcode-file", "", "")
	fs.StringVar(&o.audit, "audit", "", "")
	fs.Var(&o.first, "first", "")
	fs.Func("connections", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConnections {
			return fmt.Errorf("--connections %q: give a number from 1 to %d", v, maxConnections)
		}
		o.connections = n
		return nil
	})
	fs.StringVar(&o.pacs.url, "to-dicomweb", "", "")
	fs.StringVar(&o.pacs.credentialsFile, "dicomweb-credentials", "", "")
	fs.StringVar(&o.pacs.patientID, "local-patient-id", "", "")
	fs.StringVar(&o.pacs.issuer, "issuer", "", "")
	fs.StringVar(&o.pacs.accession, "local-accession", "", "")
	fs.StringVar(&o.pacs.name, "local-name", "", "")
	fs.StringVar(&o.pacs.birthDate, "local-birth-date", "", "")
	fs.StringVar(&o.pacs.sex, "local-sex", "", "")
	fs.StringVar(&o.configFile, "config", "", "")
	fs.Func("stow-batch", "", func(v string) error {
		n, err := parseRate(v)
		if err == nil && n < 64e3 {
			err = fmt.Errorf("--stow-batch %s: at least 64KB", v)
		}
		o.pacs.batch = n
		return err
	})
	fs.Func("max-rate", "", func(v string) error {
		r, err := parseRate(v)
		o.maxRate = r
		return err
	})
	return fs
}

func parseCommon(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := cli.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		return nil, &usageError{cli.FlagMessage(err)}
	}
	return pos, nil
}

func runFetch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := &fetchOptions{}
	fs := newFlags("receiver fetch", o)
	fs.StringVar(&o.qr, "qr", "", "")
	fs.StringVar(&o.uriFile, "uri-file", "", "")
	pos, err := parseCommon(fs, args)
	if err != nil {
		return err
	}
	for _, p := range pos {
		switch {
		case p == "-":
			o.stdin = true
		default:
			// run has refused any argument that may hold a card.
			return &usageError{fmt.Sprintf("unexpected argument %q", p)}
		}
	}
	sources := 0
	for _, set := range []bool{o.qr != "", o.uriFile != "", o.stdin} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return &usageError{"give the card exactly one way: --qr IMAGE, --uri-file FILE, or - for standard input"}
	}
	if o.out == "" {
		return &usageError{"--out DIR is required: the folder to save the study in"}
	}
	if err := applyConfig(fs, o); err != nil {
		return err
	}
	if err := o.pacs.check(o.configUsed); err != nil {
		return err
	}
	text, err := readCard(o, stdin)
	if err != nil {
		return err
	}
	js := jsonOut(o, stdout)
	if o.trail, err = audit.OpenTrail("receiver", o.audit, stderr); err != nil {
		return err
	}
	defer o.trail.Close()
	app := audit.Local("receiver", "")
	o.trail.Record(audit.ApplicationStart(app))
	defer o.trail.Record(audit.ApplicationStop(app))
	_, err = fetch(ctx, o, text, confirmer(o, stdin, stderr), stdout, stderr, js)
	if err != nil {
		js.Emit(fetchErrorEvent{ExitCode: exitCode(err), Message: err.Error()})
	}
	return err
}

func jsonOut(o *fetchOptions, stdout io.Writer) *console.JSON {
	if o.json {
		return console.NewJSON(stdout)
	}
	return nil
}

// readCard returns the card's text from where the options say.
func readCard(o *fetchOptions, stdin io.Reader) (string, error) {
	switch {
	case o.qr != "":
		f, err := os.Open(o.qr)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errCardRead, err)
		}
		defer f.Close()
		text, err := card.DecodeImage(f)
		if err != nil {
			return "", fmt.Errorf("%w from %s: %w", errCardRead, o.qr, err)
		}
		return text, nil
	case o.uriFile != "":
		b, err := readLimited(o.uriFile)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errCardRead, err)
		}
		return string(b), nil
	default:
		sc := bufio.NewScanner(io.LimitReader(stdin, 64<<10))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				return line, nil
			}
		}
		return "", fmt.Errorf("%w: standard input held no card", errCardRead)
	}
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	return bytes.TrimSpace(b), err
}

// confirmer returns the question asked before fetching, or nil when none
// is to be asked: with --yes, or with no terminal to ask on.
func confirmer(o *fetchOptions, stdin io.Reader, stderr io.Writer) func(string) (bool, error) {
	if o.yes || !console.IsTerminal(stderr) {
		return nil
	}
	return func(q string) (bool, error) {
		if !o.stdin && console.IsTerminal(stdin) {
			return console.Confirm(stdin, stderr, q)
		}
		tty, err := console.OpenTTY()
		if err != nil {
			return true, nil // no terminal to ask on
		}
		defer tty.Close()
		return console.Confirm(tty, stderr, q)
	}
}

// fetch does one card's work: the session (package receive) with this
// command's printers and questions, then the PACS import if asked for,
// then the summary.
func fetch(ctx context.Context, o *fetchOptions, text string, confirm func(string) (bool, error), stdout, stderr io.Writer, js *console.JSON) (*receive.Result, error) {
	offer, err := card.ParseURI(text)
	if err != nil {
		return nil, err
	}
	printer := &fetchText{w: stderr, verbose: o.verbose, pacs: &o.pacs, bar: !o.quiet && !o.json}
	defer printer.close()
	ro := receive.Options{
		Out: o.out, Timeout: o.timeout, RetryFor: o.retryFor, First: o.first,
		MaxRate: o.maxRate, Connections: o.connections, Trail: o.trail,
		Passcode:     func() (string, error) { return readPasscode(o) },
		CheckOffer:   func(m *transfer.Manifest) error { return o.pacs.checkStudies(m.Studies) },
		CheckArrived: func(ctx context.Context, a *receive.Arrived) error { return checkArrived(ctx, o, a, stderr, js) },
	}
	if confirm != nil {
		ro.Confirm = func(*transfer.Manifest) (bool, error) { return confirm("Receive this study?") }
	}
	res, err := receive.Fetch(ctx, ro, offer, fetchEvents(printer, js))
	if err != nil {
		return nil, err
	}
	summary := res.Summary()
	var importErr error
	if o.pacs.url != "" {
		var imported *importResult
		imported, importErr = importToPACS(ctx, o, manifestInput(res.Manifest, res.Dir), stderr, js, res.Me)
		summary.PACS = imported // null if the import did not begin
	}
	js.Emit(summary)
	if js == nil {
		fmt.Fprintln(stdout, res.Dir)
	}
	return res, importErr
}

// checkArrived is receive.CheckArrived with this command's printers: a
// study that is not the one shown is listed, file by file, and where it
// was put aside is said.
func checkArrived(ctx context.Context, o *fetchOptions, a *receive.Arrived, stderr io.Writer, js *console.JSON) error {
	p := &importPrinter{stderr: stderr, js: js}
	return receive.CheckArrived(ctx, a, o.trail, p.event)
}

// parseRate reads a rate such as 500KB, 20MB or 1.5GB (a second; SI
// units, as link speeds are given).
func parseRate(v string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}, {"", 1}}
	u := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(v), "/s"))
	for _, x := range units {
		if strings.HasSuffix(u, x.suffix) {
			n, err := strconv.ParseFloat(strings.TrimSuffix(u, x.suffix), 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%q is not a rate like 20MB", v)
			}
			return n * x.mult, nil
		}
	}
	return 0, fmt.Errorf("%q is not a rate like 20MB", v)
}

// readPasscode reads the passcode from --passcode-file, or asks for it on
// the terminal without echoing it.
func readPasscode(o *fetchOptions) (string, error) {
	if o.passcodeFile != "" {
		b, err := readLimited(o.passcodeFile)
		if err != nil {
			return "", fmt.Errorf("%w: %v", receive.ErrPasscode, err)
		}
		return string(b), nil
	}
	tty, err := console.OpenTTY()
	if err != nil {
		return "", fmt.Errorf("%w: give it with --passcode-file", receive.ErrPasscode)
	}
	defer tty.Close()
	fmt.Fprint(tty, "This card needs a passcode (ask the sending hospital): ")
	b, err := tty.ReadPassword()
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("%w: %v", receive.ErrPasscode, err)
	}
	return string(b), nil
}
