// Command receiver fetches a study offered with an imageshare card, verifies
// every file and saves it for the local PACS. Run "receiver --help" for its
// use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"
	"strings"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/internal/profile"
	"imageshare/receive"
	"imageshare/study"
)

const usage = `receiver fetches a study offered with an imageshare card.

Usage:
    receiver fetch --out DIR [options] (--qr IMAGE | --uri-file FILE | -)
    receiver scan  --out DIR [options]
    receiver import --to-dicomweb URL [reconciliation options] STUDY-DIR
    receiver audit [--audit FILE] [--json]
    receiver station --out DIR [--listen ADDR] [options]
    receiver --version

receiver fetch reads the card, connects to the sending hospital, shows who
and what the study is, and asks before fetching it (unless --yes). Every file
is checked against its hash (BLAKE3) and appears under its own name only once
verified, in a study folder inside DIR (study-DATE-OFFER, or study-DATE-OFFER-2
if that folder holds another card's study: a fetch resumes only into the
folder of the same study). The sender is then told that the
study arrived.

The card is read from a picture of it (--qr, PNG or JPEG, e.g. a photo of
the patient's phone), from a file holding its text (--uri-file), or from
standard input (-). It is never given on the command line, where other users
of the computer could read it.

It tries every address on the card at once, and the sender's announcement on
the local network (mDNS), which finds it even when the card's addresses are
stale. A card from a sender behind a NAT lists a relay; the receiver then
reaches the sender through it, and switches to a direct connection without
starting again if hole punching opens one. The summary says which path the
study took: direct, hole-punched or relayed.

With --to-dicomweb, the verified study then goes into the local PACS by
DICOMweb (STOW-RS, in batches, retrying what can be retried), and every
instance is looked up there afterwards (QIDO-RS). With --local-patient-id,
--issuer, --local-accession or --local-name, the copies sent to the PACS
carry the trauma center's identifiers, with the sender's values kept in
Original Attributes Sequence (0400,0561) (IHE Import Reconciliation); the
folder keeps the sender's originals untouched. A PDF report is stored as an
Encapsulated PDF instance of the study, a text report as a Basic Text SR.
What the PACS did not take stays in the folder and is listed, and
receiver import stores it again later from the folder.

receiver scan is for a handheld 2D scanner that types like a keyboard: it
reads one card a line from standard input and fetches each in turn.

receiver audit prints the audit trail: each study received and imported,
each refusal and alert, with DICOM PS3.15 audit event IDs.

receiver station serves the trauma center's web page, which does what
receiver fetch does with the station's camera reading the card; see
receiver station --help.

Options:
    --out DIR          Folder to save studies in (required).
    --qr IMAGE         Read the card from a PNG or JPEG picture.
    --uri-file FILE    Read the card's text from FILE.
    -y, --yes          Do not ask before fetching.
    --passcode-file FILE
                       The passcode, for a card that needs one; otherwise it is
                       asked for on the terminal, without echo.
    --timeout DURATION How long one attempt tries to reach the sender (default 30s).
                       A sender that has not answered once is given up on after
                       3 × --timeout (90s by default): the sending computer is
                       off, its network closed, or the card wrong (exit 4). A
                       card whose own expiry has passed is given one attempt of
                       at most 10s (exit 6 if nothing answers).
    --retry-for DURATION
                       How long to keep trying after the connection is lost or the
                       sender restarts, with growing pauses (default 10m). Run the
                       same command again later to resume: only what is missing
                       is fetched.
    -v, --verbose      Show libp2p's detail of each failed attempt (--json
                       always carries it); otherwise one plain line an attempt.
    --max-rate RATE    Use at most RATE of the link, e.g. 20MB (bytes a second).
    --connections N    Connections to the sender on a direct path (default 1,
                       up to 8). 2 is faster on a long, fast link (1 Gbit/s
                       between distant sites) and slower on a 100 Mbit/s one.
                       A relayed path always uses one.
    --first SERIES     Fetch this series first (its number or UID; repeatable).
                       Otherwise the report comes first, then the series from the
                       smallest up, so that whole series are ready early; each is
                       reported as soon as it is complete and verified.
    --to-dicomweb URL  Store the study in the PACS at this DICOMweb root, e.g.
                       http://pacs:8042/dicom-web (Orthanc) once verified.
    --dicomweb-credentials FILE
                       A file holding user:password for the PACS (HTTP basic
                       authentication); never put a password in the URL.
    --stow-batch SIZE  Bytes of files one STOW-RS request carries at most
                       (default 64MB); lower it for a PACS behind a proxy that
                       limits request bodies.
    --local-patient-id ID
                       The patient's ID at this hospital, for the PACS copies.
                       It needs this hospital's issuer: --issuer, or issuer in
                       the configuration; without one nothing is fetched.
    --issuer ISSUER    Issuer of Patient ID (0010,0021) of --local-patient-id.
                       The sender's issuer and its qualifiers are replaced; its
                       patient ID is kept in Other Patient IDs (0010,1002).
    --local-accession NUMBER
                       This hospital's accession number for the study.
    --local-name NAME  The name to file the study under, e.g. a trauma alias
                       "TRAUMA, ALPHA" before the patient is identified.
    --local-birth-date YYYYMMDD, --local-sex M|F|O
                       Correct the birth date or sex in the PACS copies.
    --config FILE      The station's configuration (default
                       {config}/receiver.toml; read if
                       there): issuer = "...", to_dicomweb = "...",
                       dicomweb_credentials = "..."; flags override it.
    --json             Print JSON Lines on standard output, for scripts; the
                       last line is {"type":"summary",...}.
    -q, --quiet        No progress bar.
    --audit FILE       The audit trail (default
                       {state}/audit-receiver.jsonl).

Examples:
    receiver fetch --out /data/incoming --qr card.jpg
    receiver fetch --out /data/incoming --yes --json - < card.txt
    receiver scan --out /data/incoming
    receiver fetch --out /data/incoming --qr card.jpg \
        --to-dicomweb http://pacs:8042/dicom-web \
        --local-patient-id MRN0042 --issuer TRAUMA-CENTER --local-accession A77
    receiver fetch --out /data/incoming --qr card.jpg \
        --to-dicomweb http://pacs:8042/dicom-web --local-name "TRAUMA, ALPHA"
    receiver import --to-dicomweb http://pacs:8042/dicom-web \
        /data/incoming/study-20240611-1a2b3c4d5e6f7a8b

EXIT STATUS
    0   every file arrived and was verified
    1   an error not listed below
    2   bad usage
    3   the card cannot be read, or is not an imageshare card
    4   the sender cannot be reached at any address on the card: it never
        answered in 3 × --timeout, or the connection was lost and not
        regained in --retry-for
    5   wrong card: the sender refused it (or its passcode), or the peer that
        answered is not the one on the card, or its study does not match it
    6   the offer has expired (the sender says so, or the card's own expiry
        has passed and no address on it answers)
    7   the offer was revoked by the sending hospital
    8   the offer has reached its download limit
    9   data failed verification; nothing unverified was kept
    10  you declined the study at the question
    11  the study cannot be written: it does not fit in the free space of
        DIR (checked before asking; the figures are given), the disk filled,
        or DIR is not writable; what was verified is kept, and the same
        command resumes
    12  the study is verified and saved in the folder, but not all of it is
        in the PACS (--to-dicomweb); what is missing is listed
    13  refused: the files received are not the study that was shown (another
        patient's, or other instances); nothing went to the PACS, the files
        are kept in a refused-… folder, and a security alert is recorded
    130 interrupted (Ctrl-C)
`

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitBadCard     = 3
	exitUnreachable = 4
	exitWrongCard   = 5
	exitExpired     = 6
	exitRevoked     = 7
	exitUsedUp      = 8
	exitCorrupt     = 9
	exitDeclined    = 10
	exitDisk        = 11
	exitImport      = 12
	exitMismatch    = 13
	exitLocked      = 14
	exitInterrupted = 130
)

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

var (
	errHelp     = errors.New("help shown")
	errCardRead = errors.New("cannot read the card")
)

func main() {
	// zeroconf (mDNS) complains through the standard logger when a host
	// has no multicast interface; the LAN announcement is best effort, and
	// that is no news for staff. imageshare itself never uses that logger.
	log.SetOutput(io.Discard)
	ctx, stop := cli.NotifyContext(context.Background())
	if os.Getenv("GOGC") == "" {
		// Once its chunk buffers are pooled the receiver allocates little,
		// and what it holds grows with the study's file count (the
		// manifest); with the collector's default of 100% headroom that
		// growth counts twice. At 50% it runs twice as often, which costs
		// well under 1% of the CPU (docs/PERFORMANCE.md).
		debug.SetGCPercent(50)
	}
	stopProfile := profile.Start(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr, "")
		return exitUsage
	}
	var err error
	switch {
	case argumentHoldsCard(args):
		// Refused before any flag is parsed: a parse error, a file that
		// cannot be opened, an unknown command would all quote it.
		err = &usageError{"the card's text was given on the command line, where other users can read it; pass it on standard input (-), with --uri-file, or scan it with --qr"}
	case args[0] == "-h", args[0] == "-help", args[0] == "--help":
		printHelp(stdout, "")
		return exitOK
	case args[0] == "help":
		err = runHelp(args[1:], stdout)
	case args[0] == "--version", args[0] == "-version", args[0] == "version":
		fmt.Fprintln(stdout, "receiver", console.Version())
		return exitOK
	case args[0] == "fetch":
		err = runFetch(ctx, args[1:], stdin, stdout, stderr)
	case args[0] == "scan":
		err = runScan(ctx, args[1:], stdin, stdout, stderr)
	case args[0] == "import":
		err = runImport(ctx, args[1:], stdout, stderr)
	case args[0] == "audit":
		err = runAudit(args[1:], stdout, stderr)
	case args[0] == "station":
		err = runStation(ctx, args[1:], stdin, stdout, stderr)
	default:
		err = &usageError{fmt.Sprintf("unknown command %q: the commands are fetch, scan, import, audit and station", args[0])}
	}
	if errors.Is(err, errHelp) {
		// "receiver COMMAND --help": that command's help, as a result.
		printHelp(stdout, args[0])
		return exitOK
	}
	code := exitCode(err)
	switch {
	case code == exitOK:
	case code == exitInterrupted:
		var ie *receive.InterruptedError
		if errors.As(err, &ie) {
			fmt.Fprintf(stderr, "receiver: %v\n", ie)
		} else {
			fmt.Fprintln(stderr, "receiver: interrupted; files not yet verified were not kept under their names")
		}
	default:
		fmt.Fprintf(stderr, "receiver: error: %v\n", err)
		if code == exitUsage {
			fmt.Fprintln(stderr, "hint: see receiver --help")
		}
		if errors.Is(err, card.ErrNoQRCode) {
			fmt.Fprintln(stderr, "hint: retake the photo closer, flat, filling the frame with the card, or read its text with --uri-file or -")
		}
	}
	return code
}

// argumentHoldsCard reports whether any argument (a flag's value, a file's
// name, a command) holds what may be a card's text, however spaced,
// cased or percent-encoded: none of them may be echoed, as the card's
// text is its secret.
func argumentHoldsCard(args []string) bool {
	for _, a := range args {
		a = strings.ToLower(a)
		if strings.Contains(a, "imageshare:") || strings.Contains(a, "imageshare%3a") {
			return true
		}
	}
	return false
}

// exitCode maps an error to the exit status, in one place: the
// command's own errors, then the session's as receive.Classify tells them
// apart (the station's page says the same cases in words).
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, study.ErrMismatch):
		return exitMismatch
	case errors.Is(err, errCardRead):
		return exitBadCard
	}
	return kindExit[receive.Classify(err)]
}

// kindExit is the exit status of each kind of failure.
var kindExit = map[receive.Kind]int{
	receive.KindOther:       exitError,
	receive.KindInterrupted: exitInterrupted,
	receive.KindMismatch:    exitMismatch,
	receive.KindImport:      exitImport,
	receive.KindBadCard:     exitBadCard,
	receive.KindPasscode:    exitWrongCard,
	receive.KindWrongCard:   exitWrongCard,
	receive.KindUnreachable: exitUnreachable,
	receive.KindExpired:     exitExpired,
	receive.KindRevoked:     exitRevoked,
	receive.KindUsedUp:      exitUsedUp,
	receive.KindLocked:      exitLocked, // only the sending hospital can lift it
	receive.KindCorrupt:     exitCorrupt,
	receive.KindDeclined:    exitDeclined,
	receive.KindDisk:        exitDisk,
}

// runAudit is `receiver audit`: the audit trail, one line an event.
func runAudit(args []string, stdout, stderr io.Writer) error {
	var path string
	var asJSON bool
	fs := flag.NewFlagSet("receiver audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&path, "audit", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	pos, err := parseCommon(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{"receiver audit takes no arguments"}
	}
	return audit.PrintTrail("receiver", path, asJSON, stdout, stderr)
}
