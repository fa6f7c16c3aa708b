package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"imageshare/discovery"
	"imageshare/internal/appdir"
	"imageshare/internal/osservice"
)

// Each command's own help, printed by "sender COMMAND --help" and
// "sender help COMMAND": what it does, its options, examples and exit
// codes. "sender --help" prints the whole text (usage).
const sendUsage = `Usage:
    sender send [options] PATH...
    sender send [options] --from-dicomweb URL (--study UID | --patient-id ID [--study-date DATE])

sender send reads the DICOM files in each PATH (a folder, read recursively,
files, a CD or USB stick with a DICOMDIR, or a zip), shows who and what the
study is, encrypts it, and serves it to whoever holds the card it prints.
It serves until the receiving hospital confirms that every file arrived
verified, then exits. When sender serve runs on the same spool, the offer
is handed to it and sender send exits at once.

Options:
    --site NAME          Sending hospital, printed on the card and shown to the receiver.
    --card FILE.png      Write the card as a PNG image sized for a phone screen.
    --uri-file FILE      Write the card's URI to FILE, readable by you only (mode 0600).
    --report FILE        A radiology report (PDF or text) that travels with the images.
    --from-dicomweb URL  Take the study from the PACS at this DICOMweb root (WADO-RS).
    --patient-id ID      With --from-dicomweb: look the study up by patient ID.
    --study-date DATE    With --patient-id: YYYYMMDD, or YYYYMMDD-YYYYMMDD.
    --dicomweb-credentials FILE
                         A file holding user:password for the PACS.
    --study UID          Send this study when PATH holds several (repeatable).
    --all-studies        Send every study found (they must be of one patient).
    --expires DURATION   How long the card works, e.g. 72h, 30m (default 72h).
    --keep               Keep serving after the first verified receipt.
    --max-downloads N    With --keep: downloads after which the card stops (default 3).
    --passcode           Also require a passcode, shown on this terminal only.
    --passcode-file FILE Require the passcode written in FILE (8 to 64 letters or digits).
    --listen MULTIADDR   Listen address (repeatable). Default: TCP and QUIC on
                         port %[1]d of every interface, or any free port if taken.
    --relay MULTIADDR    A relay to keep a reservation with (repeatable).
    --spool DIR          Folder of offers (default {state}/spool).
    --audit FILE         The audit trail.
    --json               Print JSON Lines on standard output, for scripts.
    -q, --quiet          No progress bars and no QR code on the terminal.

Examples:
    sender send --site "St Elsewhere ED" --card card.png /media/cdrom/DICOM
    sender send --card card.png CT_2024-05-01.zip
    sender send --uri-file card.txt --json ./CT_series > events.jsonl
    sender send --card card.png --from-dicomweb http://pacs:8042/dicom-web \
        --patient-id 123456 --study-date 20240611

EXIT STATUS
    0   a receiver confirmed that every file arrived verified (or, with --keep,
        the card expired after serving; or the offer was handed to sender serve)
    1   an error not listed below
    2   bad usage, or a PATH that does not exist
    3   a file is not DICOM, is truncated or cannot be read (each is named),
        or a DICOMDIR or zip cannot be followed or is unsafe
    4   PATH (or the PACS) holds several studies or patients: say which with --study
    5   cannot listen on the network
    6   the card expired and no receiver confirmed receipt
    7   the study cannot be taken from the PACS (--from-dicomweb)
    130 interrupted (Ctrl-C); what was delivered so far is printed

"sender --help" says more: the spool, DICOMDIR and zip input, relays.
`

const serveUsage = `Usage:
    sender serve [--spool DIR] [--listen MULTIADDR]... [--relay MULTIADDR]... [--site NAME] [--audit FILE] [--json]

sender serve serves every live offer of the spool with one stable identity,
and again after a restart; sender send then hands its offers to it and
exits at once. It runs until stopped (Ctrl-C, or systemctl stop; a unit
ships in dist/systemd). It prints the addresses it listens on, for the
firewall.

Options:
    --spool DIR          Folder of offers (default {state}/spool).
    --listen MULTIADDR   Listen address (repeatable). Default: TCP and QUIC on
                         port %[1]d of every interface.
    --relay MULTIADDR    A relay to keep a reservation with (repeatable).
    --site NAME          Sending hospital, for the audit trail.
    --audit FILE         The audit trail.
    --json               Print JSON Lines on standard output, for scripts.

Examples:
    sender serve
    sender serve --spool /var/lib/imageshare/spool \
        --relay /dns4/relay.example.org/tcp/7472/p2p/12D3KooW...

EXIT STATUS
    0   stopped (Ctrl-C or SIGTERM); offers stay in the spool
    1   an error, e.g. another sender already serves the spool
    2   bad usage
    5   cannot listen on the network
`

const listUsage = `Usage:
    sender list [--spool DIR] [--json]

sender list shows each offer of the spool: ID, state (live, expired,
revoked, used, locked), patient, study, created, expires, downloads.

Options:
    --spool DIR   Folder of offers (default {state}/spool).
    --json        Print JSON Lines on standard output, for scripts.

Examples:
    sender list
    sender list --json | jq -r 'select(.state == "live") | .offer_id'

EXIT STATUS
    0   the offers were listed (there may be none)
    1   the spool cannot be read
    2   bad usage
`

const revokeUsage = `Usage:
    sender revoke [--spool DIR] [--audit FILE] [--json] OFFER

sender revoke ends an offer now: its card stops working at once and its
encrypted data is deleted. OFFER is its ID, as sender list shows it.

Options:
    --spool DIR   Folder of offers (default {state}/spool).
    --audit FILE  The audit trail.
    --json        Print JSON Lines on standard output, for scripts.

Examples:
    sender revoke 9a59f8d7f3172fc0

EXIT STATUS
    0   the offer is revoked
    1   an error, e.g. no such offer in the spool
    2   bad usage (no offer ID, or a malformed one)
`

const unlockUsage = `Usage:
    sender unlock [--spool DIR] [--audit FILE] [--json] OFFER

An offer whose card fails 20 proofs in all (a wrong passcode, a forged
card) is locked and serves no one. sender unlock serves it again, with a
fresh budget; or send a new card. OFFER is its ID, as sender list shows it.

Options:
    --spool DIR   Folder of offers (default {state}/spool).
    --audit FILE  The audit trail.
    --json        Print JSON Lines on standard output, for scripts.

Examples:
    sender unlock 9a59f8d7f3172fc0

EXIT STATUS
    0   the offer is unlocked
    1   an error, e.g. no such offer in the spool
    2   bad usage (no offer ID, or a malformed one)
`

const auditUsage = `Usage:
    sender audit [--audit FILE] [--json]

sender audit prints the audit trail: every offer made, every receiver that
proved it held a card or failed to, every study delivered, every alert,
with DICOM PS3.15 audit event IDs. It never holds a card's secret or a
passcode.

Options:
    --audit FILE  The audit trail (default
                  {state}/audit-sender.jsonl).
    --json        Print the trail's JSON Lines as they are.

Examples:
    sender audit
    sender audit --json > audit-sender.jsonl

EXIT STATUS
    0   the trail was printed
    1   the trail cannot be read
    2   bad usage
`

const serviceUsage = `Usage:
    sender service install [-- SERVE-OPTIONS...]
    sender service uninstall|start|stop|status

On Windows, sender service makes sender serve a Windows service, named
imageshare-sender ("imageshare sender" in Services), that starts with
Windows, restarts after a failure, and serves the spool's offers while no
one is logged on. Run it from a command prompt opened with "Run as
administrator"; status needs no administrator.

    install     Register the service to run this sender.exe, where it is
                (copy it to e.g. C:\Program Files\imageshare first), as
                "sender serve --service" with SERVE-OPTIONS. Unless given,
                --spool is %ProgramData%\imageshare\spool and --audit
                %ProgramData%\imageshare\audit-sender.jsonl; staff then
                send with that --spool. "sender service install --help"
                says more.
    uninstall   Stop the service and remove it; the spool and the log stay.
    start       Start it now (Windows starts it at each boot).
    stop        Stop it, waiting up to 30 seconds; offers stay in the spool.
    status      Print its state, process, command line and log file.

The service logs what sender serve prints to
%ProgramData%\imageshare\logs\sender-serve.log (the previous 10 MB in
sender-serve.log.1), and its start, stop and failures to the Windows Event
Log (Application, source imageshare-sender). docs/NETWORKS.md says what
to open in Windows Defender Firewall.

On Linux and macOS, systemd or launchd runs sender serve: sender service
prints how to install dist/systemd/imageshare-sender.service or
dist/launchd/org.imageshare.sender.plist, and exits 2.

Examples:
    sender service install
    sender service install -- --relay /dns4/relay.example.org/tcp/7472/p2p/12D3KooW... --site "St Elsewhere ED"
    sender service start
    sender service status
    sender service stop
    sender service uninstall

` + osservice.ExitStatusHelp

const serviceInstallUsage = `Usage:
    sender service install [-- SERVE-OPTIONS...]

sender service install registers the Windows service imageshare-sender,
started automatically with Windows (delayed, after the network) and again
5 seconds after a failure. It runs this program, from where it is now, as

    sender.exe serve --service SERVE-OPTIONS

SERVE-OPTIONS are sender serve's (sender help serve), after "--"; they are
checked now, so that the service does not fail at its start. Unless given,
--spool is %ProgramData%\imageshare\spool and --audit is
%ProgramData%\imageshare\audit-sender.jsonl. The service runs as
LocalSystem. To change its options, uninstall it and install it again.

Examples:
    sender service install
    sender service install -- --spool D:\imageshare\spool --listen /ip4/0.0.0.0/tcp/7471
    sender service install -- --relay /dns4/relay.example.org/tcp/7472/p2p/12D3KooW...

EXIT STATUS
    0   the service is installed (start it with sender service start)
    1   an error, e.g. not run as administrator, or already installed
    2   bad usage, e.g. a SERVE-OPTION sender serve refuses, or not Windows
        (the way to install the systemd unit or the launchd property list
        is printed)
`

const stationUsage = `Usage:
    sender station [--spool DIR] [--listen ADDR] [--cert FILE --key FILE | --self-signed]
                   [--password-file FILE] [--from-dicomweb URL [--dicomweb-credentials FILE]]
                   [--relay MULTIADDR]... [--p2p-listen MULTIADDR]... [--site NAME]
                   [--expires DURATION] [--audit FILE] [--json]
    sender station password --password-file FILE --user NAME

sender station is the sending site's web page: staff find a study (in the
PACS by patient ID, name and date, in a folder, CD or USB stick of this
computer, or in a zip uploaded from the browser), read the summary that
sender send prints, choose the card's life, a passcode, a report, and send.
The card then fills the screen, for the patient to photograph with their
own phone, to print on an A6 card or to download. The page lists the
offers and where each stands (waiting, receiver connected, sending,
delivered, expired, revoked), revokes one, and shows its audit events.
The station serves the spool's offers itself, as sender serve does (or
leaves them to a sender serve already running on the spool), until it is
stopped. It prints its address, "Sender station: URL".

It listens on loopback only unless told otherwise. On any other address it
needs TLS (--cert and --key, or --self-signed: a certificate made at the
first start and kept beside the spool, its fingerprint printed) and a
login (--password-file, made with sender station password), or it refuses
to start.

Options:
    --spool DIR          Folder of offers (default {state}/spool).
    --listen ADDR        The page's address, host:port (default 127.0.0.1:7481).
    --cert FILE, --key FILE
                         The TLS certificate and its key (PEM).
    --self-signed        Make a self-signed certificate, kept for the next starts.
    --password-file FILE Who may log in (sender station password writes it).
    --from-dicomweb URL  The PACS to search (QIDO-RS) and take studies from
                         (WADO-RS), e.g. http://pacs:8042/dicom-web.
    --dicomweb-credentials FILE
                         A file holding user:password for the PACS.
    --relay MULTIADDR    A relay to keep a reservation with (repeatable).
    --p2p-listen MULTIADDR
                         Where the offers are served (repeatable). Default: TCP
                         and QUIC on port %[1]d of every interface.
    --site NAME          Sending hospital, printed on the card.
    --expires DURATION   The card's life the page proposes (default 72h).
    --audit FILE         The audit trail.
    --json               Print {"type":"ready","url":…} on standard output once
                         the page listens, for scripts.

Examples:
    sender station --site "St Elsewhere ED" --from-dicomweb http://pacs:8042/dicom-web
    sender station password --password-file /etc/imageshare/sender-logins --user alice
    sender station --listen 0.0.0.0:7481 --self-signed \
        --password-file /etc/imageshare/sender-logins --site "St Elsewhere ED"

EXIT STATUS
    0   stopped (Ctrl-C or SIGTERM); the offers stay in the spool
    1   an error, e.g. the spool or the audit trail cannot be opened
    2   bad usage, or the station refused to start (a network address
        without TLS or a login, a certificate or password file that
        cannot be used, an address in use): the reason is printed
    5   cannot listen on the network to serve the offers
`

var commandUsage = map[string]string{
	"station":         stationUsage,
	"service":         serviceUsage,
	"service install": serviceInstallUsage,
	"send":            sendUsage,
	"serve":           serveUsage,
	"list":            listUsage,
	"revoke":          revokeUsage,
	"unlock":          unlockUsage,
	"audit":           auditUsage,
}

// printHelp writes the help of command, or the whole text for "".
func printHelp(w io.Writer, command string) {
	text, ok := commandUsage[command]
	if !ok {
		text = usage
	}
	fmt.Fprint(w, appdir.Expand(strings.ReplaceAll(text, "%[1]d", strconv.Itoa(discovery.DefaultPort))))
}

// runHelp is "sender help [COMMAND]".
func runHelp(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		printHelp(stdout, "")
	case len(args) > 1:
		return &usageError{"sender help takes one command"}
	case commandUsage[args[0]] == "":
		return &usageError{fmt.Sprintf("unknown command %q: the commands are send, station, serve, list, revoke, unlock, audit and service", args[0])}
	default:
		printHelp(stdout, args[0])
	}
	return nil
}
