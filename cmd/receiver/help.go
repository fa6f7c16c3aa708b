package main

import (
	"fmt"
	"imageshare/internal/appdir"
	"io"
)

// Each command's own help, printed by "receiver COMMAND --help" and
// "receiver help COMMAND": what it does, its options, examples and exit
// codes. "receiver --help" prints the whole text (usage).
const fetchUsage = `Usage:
    receiver fetch --out DIR [options] (--qr IMAGE | --uri-file FILE | -)

receiver fetch reads the card, connects to the sending hospital, shows who
and what the study is, and asks before fetching it (unless --yes). Every
file is verified before it appears under its own name. The study is built
in DIR/.incoming/study-… and moved to DIR/study-… once all of it is
verified, so a folder-watching import never takes in half a study; the
same command resumes an interrupted fetch, and a second receiver of the
same study into DIR is refused while one runs. The card is never given on
the command line, where other users could read it.

Options:
    --out DIR          Folder to save studies in (required).
    --qr IMAGE         Read the card from a PNG or JPEG picture.
    --uri-file FILE    Read the card's text from FILE.
    -                  Read the card's text from standard input.
    -y, --yes          Do not ask before fetching.
    --passcode-file FILE
                       The passcode, for a card that needs one; otherwise it is
                       asked for on the terminal, without echo.
    --timeout DURATION How long one attempt tries to reach the sender (default 30s).
    --retry-for DURATION
                       How long to keep trying after the connection is lost (default 10m).
    --max-rate RATE    Use at most RATE of the link, e.g. 20MB (bytes a second).
    --connections N    Connections to the sender on a direct path (default 1, up to 8).
    --first SERIES     Fetch this series first (its number or UID; repeatable).
    --to-dicomweb URL  Store the verified study in the PACS at this DICOMweb root.
    --local-patient-id ID, --issuer ISSUER, --local-accession NUMBER,
    --local-name NAME, --local-birth-date YYYYMMDD, --local-sex M|F|O
                       This hospital's identifiers for the PACS copies
                       ("receiver --help" says more).
    --config FILE      The station's configuration.
    -v, --verbose      Show libp2p's detail of each failed attempt.
    --json             Print JSON Lines on standard output, for scripts.
    -q, --quiet        No progress bar.
    --audit FILE       The audit trail.

Examples:
    receiver fetch --out /data/incoming --qr card.jpg
    receiver fetch --out /data/incoming --yes --json - < card.txt
    receiver fetch --out /data/incoming --qr card.jpg \
        --to-dicomweb http://pacs:8042/dicom-web --local-name "TRAUMA, ALPHA"

EXIT STATUS
    0   every file arrived and was verified
    1   an error not listed below
    2   bad usage
    3   the card cannot be read, or is not an imageshare card
    4   the sender cannot be reached at any address on the card
    5   wrong card (or passcode), or the peer is not the one on the card
    6   the offer has expired
    7   the offer was revoked by the sending hospital
    8   the offer has reached its download limit
    9   data failed verification; nothing unverified was kept
    10  you declined the study at the question
    11  the study cannot be written (space, disk full, permissions); resumable
    12  the study is saved, but not all of it is in the PACS (--to-dicomweb)
    13  refused: the files received are not the study that was shown
    14  the offer is locked after too many failed attempts to open it: the
        sending hospital unlocks it (sender unlock) or sends a new card
    130 interrupted (Ctrl-C)
`

const scanUsage = `Usage:
    receiver scan --out DIR [options]

receiver scan is for a handheld 2D scanner that types like a keyboard: it
reads one card a line from standard input and fetches each in turn. A card
that fails is reported and the next is read. It takes receiver fetch's
options, except those that name one patient (--local-patient-id, --issuer,
--local-accession, --local-name, --local-birth-date, --local-sex).

Options:
    --out DIR          Folder to save studies in (required).
    -y, --yes          Do not ask before fetching.
    --to-dicomweb URL  Store each verified study in the PACS at this DICOMweb root.
    --json             Print JSON Lines on standard output, for scripts.
    (and receiver fetch's other options: see receiver fetch --help)

Examples:
    receiver scan --out /data/incoming
    receiver scan --out /data/incoming --yes --to-dicomweb http://pacs:8042/dicom-web

EXIT STATUS
    0   every card read was fetched
    2   bad usage
    3-13, 1
        the exit status of the last card that failed, as for receiver fetch
    130 interrupted (Ctrl-C)
`

const importUsage = `Usage:
    receiver import --to-dicomweb URL [reconciliation options] STUDY-DIR

receiver import stores a study folder that receiver fetch saved into the
PACS by DICOMweb (STOW-RS): after a partial import (exit 12), or to import
it under a local record later. With the reconciliation options the PACS
copies carry this hospital's identifiers; the folder is left untouched.

Options:
    --to-dicomweb URL  The PACS's DICOMweb root, e.g. http://pacs:8042/dicom-web.
    --dicomweb-credentials FILE
                       A file holding user:password for the PACS.
    --stow-batch SIZE  Bytes of files one STOW-RS request carries at most (default 64MB).
    --local-patient-id ID, --issuer ISSUER, --local-accession NUMBER,
    --local-name NAME, --local-birth-date YYYYMMDD, --local-sex M|F|O
                       This hospital's identifiers for the PACS copies.
    --config FILE      The station's configuration.
    --json             Print JSON Lines on standard output, for scripts.
    --audit FILE       The audit trail.

Examples:
    receiver import --to-dicomweb http://pacs:8042/dicom-web \
        /data/incoming/study-20240611-1a2b3c4d5e6f7a8b
    receiver import --to-dicomweb http://pacs:8042/dicom-web \
        --local-patient-id MRN0042 --issuer TRAUMA-CENTER STUDY-DIR

EXIT STATUS
    0   every instance is in the PACS
    1   an error not listed below
    2   bad usage
    12  not all of the study is in the PACS; what is missing is listed
    13  refused: the folder's files are not the study it was fetched as
    130 interrupted (Ctrl-C)
`

const auditUsage = `Usage:
    receiver audit [--audit FILE] [--json]

receiver audit prints the audit trail: each study received and imported,
each refusal and alert, with DICOM PS3.15 audit event IDs.

Options:
    --audit FILE  The audit trail (default
                  {state}/audit-receiver.jsonl).
    --json        Print the trail's JSON Lines as they are.

Examples:
    receiver audit
    receiver audit --json > audit-receiver.jsonl

EXIT STATUS
    0   the trail was printed
    1   the trail cannot be read
    2   bad usage
`

const stationUsage = `Usage:
    receiver station --out DIR [--listen ADDR] [options]
    receiver station password --password-file FILE --user NAME

receiver station serves the trauma center's web page: the station's camera
reads the card (or a USB 2D scanner, a paste, a photo), the page shows who
and what the study is and asks whether it is your patient, with the local
values for the PACS, then shows each series arriving with a thumbnail, the
report, the import into the PACS, and the studies received before. It does
what receiver fetch does, into DIR, one card at a time, and says every
failure in plain words with what to do.

It listens on this machine only (127.0.0.1:7480) unless --listen says
otherwise; on any other address it needs TLS (--cert and --key, or
--self-signed) and a login (--password-file), or it refuses to start.
The card's text goes to the station only in the body of a request, never
in an address. receiver station password adds a login to a password file.

Options:
    --out DIR          Folder to save studies in (required).
    --listen ADDR      Address to serve the page on (default 127.0.0.1:7480).
    --cert FILE, --key FILE
                       The TLS certificate and its key (PEM).
    --self-signed      Without --cert: make a self-signed certificate on
                       first start, kept in {state}, and print its
                       fingerprint for staff to check in the browser.
    --password-file FILE
                       Who may log in (receiver station password writes it).
    --to-dicomweb URL  Store each verified study in the PACS at this DICOMweb root.
    --dicomweb-credentials FILE
                       A file holding user:password for the PACS.
    --issuer ISSUER    This hospital's issuer of patient IDs, offered beside
                       a local patient ID (default: issuer in the configuration).
    --config FILE      The station's configuration (default
                       {config}/receiver.toml).
    --timeout DURATION, --retry-for DURATION
                       As for receiver fetch (default 30s and 10m).
    --json             Print {"type":"ready","url":...} once listening.
    --audit FILE       The audit trail (default
                       {state}/audit-receiver.jsonl).

Examples:
    receiver station --out /data/incoming
    receiver station --out /data/incoming --to-dicomweb http://pacs:8042/dicom-web
    receiver station password --password-file /etc/imageshare/logins --user alice
    receiver station --out /data/incoming --listen 0.0.0.0:7480 \
        --self-signed --password-file /etc/imageshare/logins

EXIT STATUS
    0   the station was stopped (Ctrl-C), or a login was set
    1   an error not listed below
    2   bad usage, or the station refused to start (say, another address
        than loopback without TLS and a login); the reason is printed
`

var commandUsage = map[string]string{
	"fetch":   fetchUsage,
	"scan":    scanUsage,
	"import":  importUsage,
	"audit":   auditUsage,
	"station": stationUsage,
}

// printHelp writes the help of command, or the whole text for "".
func printHelp(w io.Writer, command string) {
	text, ok := commandUsage[command]
	if !ok {
		text = usage
	}
	fmt.Fprint(w, appdir.Expand(text))
}

// runHelp is "receiver help [COMMAND]".
func runHelp(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		printHelp(stdout, "")
	case len(args) > 1:
		return &usageError{"receiver help takes one command"}
	case commandUsage[args[0]] == "":
		return &usageError{fmt.Sprintf("unknown command %q: the commands are fetch, scan, import, audit and station", args[0])}
	default:
		printHelp(stdout, args[0])
	}
	return nil
}
