// Command sender offers a DICOM study to another hospital: it checks the
// files, encrypts them, serves them over libp2p and prints the QR card that
// travels with the patient. Run "sender --help" for its use.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/internal/osservice"
	"imageshare/internal/profile"
	"imageshare/send"
	"imageshare/station"
	"imageshare/study"
)

const usage = `sender offers a DICOM study to another hospital, through a QR card.

Usage:
    sender send [options] PATH...
    sender send [options] --from-dicomweb URL (--study UID | --patient-id ID [--study-date DATE])
    sender station [--spool DIR] [--listen ADDR] [--from-dicomweb URL] [--relay MULTIADDR]...
    sender serve [--spool DIR] [--listen MULTIADDR]... [--site NAME] [--audit FILE] [--json]
    sender list [--spool DIR] [--json]
    sender revoke [--spool DIR] OFFER
    sender unlock [--spool DIR] OFFER
    sender audit [--audit FILE] [--json]
    sender service install|uninstall|start|stop|status [-- SERVE-OPTIONS...]
    sender --version

sender send reads the DICOM files in each PATH (a folder, read recursively,
or files), shows who and what the study is, encrypts it, and serves it to
whoever holds the card it prints. The card's URI goes to standard output, the
QR code to the terminal, and with --card to a PNG image for the patient's
phone or for printing. It serves until the receiving hospital confirms that
every file arrived and was verified, then exits.

A folder with a DICOMDIR at its top (a CD, DVD or USB stick from another
hospital) is read as its DICOMDIR says: the files it lists, and not the
viewer beside them. A zip file is unzipped into the spool, read as a
folder, and the unzipped copy removed once the offer is made.

Each offer is kept in a spool folder (its encrypted data and a record of it,
never a key that decrypts it). When "sender serve" runs on the same spool,
"sender send" hands the offer to it and exits at once; sender serve serves
every live offer with one stable identity, and again after a restart (a
systemd unit ships in dist/systemd, a launchd property list in
dist/launchd; on Windows, sender service install makes it a service). Two
sends at once without sender serve both serve: the first with the spool's
identity, the next with one of its own, for its card only. An offer ends at its first verified receipt (with
--keep: at its download limit), when it expires, or when it is revoked; its
encrypted data is then deleted.

Options for send:
    --site NAME          Sending hospital, printed on the card and shown to the receiver.
    --card FILE.png      Write the card as a PNG image sized for a phone screen.
    --uri-file FILE      Write the card's URI to FILE, readable by you only (mode 0600).
    --report FILE        A radiology report (PDF or text) that travels with the images.
    --from-dicomweb URL  Take the study from the PACS at this DICOMweb root (WADO-RS),
                         e.g. http://pacs:8042/dicom-web, instead of from PATH. It is
                         streamed to a staging folder of the spool, removed once packed.
    --patient-id ID      With --from-dicomweb: look the study up by patient ID (QIDO-RS)
                         when its UID is not known; several matches are listed (exit 4).
    --study-date DATE    With --patient-id: the study's date, YYYYMMDD, or a range
                         YYYYMMDD-YYYYMMDD.
    --dicomweb-credentials FILE
                         A file holding user:password for the PACS (HTTP basic
                         authentication); never put a password in the URL.
    --study UID          Send this study when PATH holds several (repeatable).
    --all-studies        Send every study found (they must be of one patient).
    --expires DURATION   How long the card works, e.g. 72h, 30m (default 72h).
    --keep               Keep serving after the first verified receipt, until the card
                         expires or reaches --max-downloads, for several receivers.
    --max-downloads N    With --keep: downloads after which the card stops working
                         (default 3). The sender counts a download when a receiver
                         confirms it, or when every chunk has been sent once more.
    --passcode           Also require a passcode, shown on this terminal only, that you
                         tell the receiving staff by phone: a photo of the card alone
                         is then not enough.
    --passcode-file FILE Require the passcode written in FILE (8 to 64 letters or digits).
    --listen MULTIADDR   Listen address (repeatable). Default: TCP and QUIC on
                         port %[1]d of every interface, or any free port if taken.
    --relay MULTIADDR    A relay to keep a reservation with, as the relay prints
                         it (ending in /p2p/ and its ID; repeatable). The card
                         then lists the relayed address, by which a receiver
                         reaches a sender behind a NAT or firewall; where the
                         NATs allow, the connection becomes direct (hole
                         punching). sender serve takes --relay too.
    --spool DIR          Folder of offers (default {state}/spool).
    --audit FILE         The audit trail (default {state}/audit-sender.jsonl).
    --json               Print JSON Lines on standard output, for scripts.
    -q, --quiet          No progress bars and no QR code on the terminal.

sender station is the same as a web page, for staff without a terminal: it
finds the study (in the PACS, a folder or disc, or an uploaded zip), shows
its summary, sends it, fills the screen with the card for the patient's
phone or the printer, and follows the offers, until Ctrl-C. It listens on
127.0.0.1:7481; elsewhere only with TLS and a login (sender help station).

sender list shows each offer: ID, state (live, expired, revoked, used),
patient, study, created, expires, downloads. sender revoke ends an offer now.
An offer whose card fails 20 proofs in all (a wrong passcode, a forged
card) is locked: it serves no one, the terminal and the audit trail say
so, and sender unlock OFFER serves it again (or send a new card).
sender audit prints the audit trail: every offer made, every receiver that
proved it held a card or failed to, every study delivered, every alert,
with DICOM PS3.15 audit event IDs. It never holds a card's secret or a
passcode.

Examples:
    sender send --site "St Elsewhere ED" --card card.png /media/cdrom/DICOM
    sender send --card card.png /media/cdrom          # a CD or USB stick with a DICOMDIR
    sender send --card card.png CT_2024-05-01.zip     # a study exported as a zip
    sender send --study 1.2.840.113619.2.55.3 --report report.pdf ./export
    sender send --uri-file card.txt --json ./CT_series > events.jsonl
    sender send --card card.png --from-dicomweb http://pacs:8042/dicom-web \
        --patient-id 123456 --study-date 20240611
    sender station --site "St Elsewhere ED" --from-dicomweb http://pacs:8042/dicom-web
    sender serve --spool /var/lib/imageshare/spool --relay /dns4/relay.example.org/tcp/7472/p2p/12D3KooW...
    sender list
    sender revoke 9a59f8d7f3172fc0
    sender unlock 9a59f8d7f3172fc0

EXIT STATUS
    0   a receiver confirmed that every file arrived verified (or, with --keep,
        the card expired after serving; or the offer was handed to sender serve)
    1   an error not listed below
    2   bad usage, or a PATH that does not exist
    3   a file is not DICOM, is truncated or cannot be read (each is named),
        or a DICOMDIR or zip cannot be followed or is unsafe
    4   PATH (or the PACS, for --patient-id) holds several studies or
        patients: say which with --study
    5   cannot listen on the network
    6   the card expired and no receiver confirmed receipt
    7   the study cannot be taken from the PACS (--from-dicomweb): it cannot
        be reached, refuses, or has no such study
    130 interrupted (Ctrl-C); what was delivered so far is printed
`

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitBadInput    = 3
	exitAmbiguous   = 4
	exitNetwork     = 5
	exitExpired     = 6
	exitPACS        = 7
	exitInterrupted = 130
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// hintedError is an error followed on standard error by a hint.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

func main() {
	// zeroconf (mDNS) complains through the standard logger when a host
	// has no multicast interface; the LAN announcement is best effort, and
	// that is no news for staff. imageshare itself never uses that logger.
	log.SetOutput(io.Discard)
	ctx, stop := cli.NotifyContext(context.Background())
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
	switch args[0] {
	case "-h", "-help", "--help":
		printHelp(stdout, "")
		return exitOK
	case "help":
		err = runHelp(args[1:], stdout)
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "sender", console.Version())
		return exitOK
	case "send":
		err = runSend(ctx, args[1:], stdout, stderr)
	case "station":
		err = runStation(ctx, args[1:], stdin, stdout, stderr)
	case "serve":
		if rest, ok := osservice.ServiceMode(args[1:]); ok {
			return runAsService(ctx, rest, stderr)
		}
		err = runServe(ctx, args[1:], stdout, stderr)
	case "service":
		return runService(ctx, args[1:], stdout, stderr)
	case "list":
		err = runList(ctx, args[1:], stdout)
	case "revoke":
		err = runRevoke(ctx, args[1:], stdout, stderr)
	case "unlock":
		err = runUnlock(ctx, args[1:], stdout, stderr)
	case "audit":
		err = runAudit(ctx, args[1:], stdout, stderr)
	default:
		err = &usageError{fmt.Sprintf("unknown command %q: the commands are send, station, serve, list, revoke, unlock, audit and service", args[0])}
	}
	if errors.Is(err, errHelp) {
		// "sender COMMAND --help": that command's help, as a result.
		printHelp(stdout, args[0])
		return exitOK
	}
	return exitCode(err, stderr)
}

// exitCode prints err and decides the exit status, in one place.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var amb *study.AmbiguousError
	var le *send.ListenError
	var he *hintedError
	if errors.As(err, &he) {
		defer fmt.Fprintln(stderr, "hint: "+he.hint)
	}
	code := exitError
	switch {
	case errors.As(err, &ue):
		code = exitUsage
		defer fmt.Fprintln(stderr, "hint: see sender --help")
	case errors.As(err, new(*station.RefusedError)):
		code = exitUsage
	case errors.Is(err, send.ErrBadInput):
		code = exitBadInput
	case errors.As(err, &amb), errors.As(err, new(*send.PACSChoiceError)):
		code = exitAmbiguous
	case errors.Is(err, send.ErrPACS):
		code = exitPACS
	case errors.As(err, &le):
		code = exitNetwork
	case errors.Is(err, send.ErrExpired):
		code = exitExpired
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "sender: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "sender: error: %v\n", err)
	return code
}
