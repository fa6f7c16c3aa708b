// Command relay is a libp2p circuit relay (v2) for a health network:
// senders behind a hospital's NAT or firewall keep a reservation with it,
// and receivers reach them through it. Run "relay --help" for its use.
//
// It relays whole studies: unlike libp2p's defaults, which suit a public
// relay that helps strangers for a moment, a relayed connection has no time
// or data limit, and one hospital's NAT address may hold many reservations.
// The limits and the reasons for their defaults are in relay.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"imageshare/console"
	"imageshare/discovery"
	"imageshare/internal/appdir"
	"imageshare/internal/cli"
	"imageshare/internal/osservice"
)

const usage = `relay lets receivers reach senders that are behind a NAT or firewall.

Usage:
    relay [options]
    relay id [--identity FILE] [--json]
    relay service install|uninstall|start|stop|status [-- OPTIONS...]
    relay --version

relay is a libp2p circuit relay (v2). Senders keep a reservation with it
("sender serve --relay ADDR"), and their cards then list an address through
the relay, by which a receiver reaches them. The relay only passes bytes
along: a study is encrypted end to end and the relay never sees a card, a
key or a patient. Where the NATs allow, the two ends then connect directly
(hole punching) and the relay drops out.

On start it prints, on standard error, the addresses senders should use,
each ending in /p2p/ and the relay's peer ID, for example:

    relay: address for senders: /ip4/203.0.113.7/tcp/7472/p2p/12D3KooW...

If senders reach the relay by a public name or through a forwarded port,
give them that instead, e.g. /dns4/relay.example.org/tcp/7472/p2p/12D3KooW...
Open port %[1]d for TCP and UDP (QUIC) in the firewall.

A relayed connection has no time or data limit here: libp2p's default, 2
minutes or 128 KiB each way, would cut every study short.

The relay's identity is an Ed25519 key in a file, made on first start and
readable by its owner only; the relay refuses a key file that others can
read. Keep it (and back it up): a new key is a new peer ID, and every
sender's --relay must then change. relay id prints the peer ID, making the
key if need be, so that senders can be set up before the relay first runs.

A systemd unit ships in dist/systemd and a launchd property list in
dist/launchd; on Windows, relay service install makes the relay a service
(relay service --help).

Options:
    --identity FILE      The relay's key (default $STATE_DIRECTORY/relay.key under
                         systemd, else {state}/relay.key).
    --listen MULTIADDR   Listen address, TCP or QUIC (repeatable). Default: port %[1]d
                         of every IPv4 and IPv6 interface, TCP and QUIC.
    --max-reservations N Senders that may hold a reservation at once (default %[2]d).
                         Each holds one connection and little memory; libp2p's
                         default, 128, is meant for public relays.
    --max-reservations-per-ip N
                         Reservations from one IP address (default %[3]d). All the
                         senders behind a hospital's NAT share its address; libp2p's
                         default, 8, would turn away the ninth. A single address may
                         also hold at most %[4]d x N connections to the relay.
    --max-circuits N     Relayed connections open at once for one peer (default %[5]d):
                         a sender needs one for each receiver fetching from it.
                         libp2p's default is 16.
    --buffer BYTES       Copy buffer of each direction of a relayed connection
                         (default %[6]d). libp2p's 2048 makes a 4 GB study take two
                         million copies; each connection holds 2 x BYTES of memory.
    --reservation-ttl DURATION
                         How long a reservation lasts unless renewed (default %[7]v,
                         at least 1m). Senders renew it at half-time; a sender that
                         disconnects loses its reservation at once.
    --json               Print JSON Lines on standard output: {"type":"ready",...}
                         with the peer ID and addresses, then one line an event
                         (reservations, relayed connections); relay id prints
                         {"type":"id","peer_id":...}.

It logs, one line each, reservations asked for, granted, refused (naming the
limit reached) and ended, and relayed connections asked for, opened, refused
and closed, with the bytes relayed so far. Renewals are not logged.

Examples:
    relay
    relay --listen /ip4/0.0.0.0/tcp/443 --listen /ip4/0.0.0.0/udp/443/quic-v1
    relay --max-reservations 4096 --max-reservations-per-ip 1024
    relay id --identity /var/lib/imageshare-relay/relay.key
    relay --json > relay-events.jsonl

EXIT STATUS
    0   stopped by SIGTERM (systemctl stop) or SIGINT (Ctrl-C); relay id
        printed the peer ID
    1   an error not listed below
    2   bad usage (the flag at fault is named)
    3   the identity file is malformed, unreadable, or readable by others
    5   cannot listen on an address (it is named), e.g. the port is taken
`

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitIdentity = 3
	exitListen   = 5
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// listenError is an address the relay cannot listen on.
type listenError struct {
	addr string
	err  error
}

func (e *listenError) Error() string {
	return fmt.Sprintf("cannot listen on %s: %v", e.addr, e.err)
}
func (e *listenError) Unwrap() error { return e.err }

var (
	errHelp = errors.New("help shown")
	// errTerminated is the cause of the context's end on SIGTERM: the
	// service manager stopping the relay. Like Ctrl-C (SIGINT), it is not
	// a failure.
	errTerminated = errors.New("terminated")
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, cli.StopSignals()...)
	go func() {
		s := <-sigs
		// A second signal ends the process at once.
		signal.Stop(sigs)
		if s == syscall.SIGTERM {
			cancel(errTerminated)
		} else {
			cancel(nil)
		}
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel(nil)
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help"):
		printUsage(stdout)
		return exitOK
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version"):
		fmt.Fprintln(stdout, "relay", console.Version())
		return exitOK
	case len(args) > 0 && args[0] == "id":
		err = runID(args[1:], stdout, stderr)
		if errors.Is(err, errHelp) {
			fmt.Fprint(stdout, idUsage)
			return exitOK
		}
	case len(args) > 0 && args[0] == "service":
		return runService(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == osservice.ServiceFlag:
		return runAsService(ctx, args[1:], stderr)
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		err = runRelay(ctx, args, stdout, stderr)
	default:
		err = &usageError{fmt.Sprintf("unknown command %q: relay takes options only, or the command id or service", args[0])}
	}
	if errors.Is(err, errHelp) {
		printUsage(stdout)
		return exitOK
	}
	return exitCode(err, stderr)
}

// idUsage is the help of "relay id".
const idUsage = `Usage:
    relay id [--identity FILE] [--json]

relay id prints the relay's peer ID, making its identity (an Ed25519 key,
readable by its owner only) if need be, so that senders can be set up with
the relay's address before it first runs.

Options:
    --identity FILE   The relay's key (default as for relay).
    --json            Print {"type":"id","peer_id":...,"identity":...}.

Examples:
    relay id
    relay id --identity /var/lib/imageshare-relay/relay.key

EXIT STATUS
    0   the peer ID was printed
    1   an error not listed below
    2   bad usage
    3   the identity file is malformed, unreadable, or readable by others
`

func printUsage(w io.Writer) {
	fmt.Fprint(w, appdir.Expand(fmt.Sprintf(usage, defaultPort, defaultMaxReservations, defaultMaxReservationsPerIP,
		connsPerReservation, defaultMaxCircuits, defaultBufferSize, shortDuration(defaultReservationTTL))))
}

// shortDuration writes d as 1h or 1h30m rather than 1h0m0s or 1h30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// exitCode prints err and decides the exit status, in one place.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ie *discovery.IdentityError
	var le *listenError
	code := exitError
	switch {
	case errors.As(err, &ue):
		code = exitUsage
		defer fmt.Fprintln(stderr, "hint: see relay --help")
	case errors.As(err, &ie):
		code = exitIdentity
		if ie.Hint != "" {
			defer fmt.Fprintln(stderr, "hint:", ie.Hint)
		}
	case errors.As(err, &le):
		code = exitListen
		if isAddrInUse(le.err) {
			defer fmt.Fprintln(stderr, "hint: another program (another relay?) uses that port; stop it or choose another with --listen")
		}
	}
	fmt.Fprintf(stderr, "relay: error: %v\n", err)
	return code
}
