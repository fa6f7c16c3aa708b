package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"imageshare/internal/osservice"
)

// relayService is the relay as a Windows service.
var relayService = osservice.Spec{
	Name:        "imageshare-relay",
	DisplayName: "imageshare relay",
	Description: "Lets receiving hospitals reach imageshare senders that are behind a NAT or firewall. " +
		"It passes encrypted data along and never sees a study, a card or a patient.",
	Program: "relay",
	LogName: "relay.log",
	// The relay's key, in %ProgramData%\imageshare unless the
	// administrator says otherwise: the service's account has no profile
	// to keep it in.
	Defaults: []osservice.Default{{Flag: "identity", Path: "relay.key"}},
	Validate: validateRelay,
	Systemd:  "dist/systemd/imageshare-relay.service",
	Launchd:  "dist/launchd/org.imageshare.relay.plist",
	Binary:   "/usr/local/bin/imageshare-relay",
}

// validateRelay checks a service's flags as the relay will parse them.
func validateRelay(args []string) error {
	_, err := parseRelay(args)
	if errors.Is(err, errHelp) {
		return errors.New("--help is not a flag for the service")
	}
	return err
}

// runService is "relay service ACTION": it installs, removes, starts,
// stops or shows the Windows service that runs the relay.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := osservice.ParseCommand("relay", args)
	if errors.Is(err, osservice.ErrHelp) {
		if len(args) > 0 && args[0] == string(osservice.Install) {
			io.WriteString(stdout, serviceInstallUsage)
		} else {
			io.WriteString(stdout, serviceUsage)
		}
		return exitOK
	}
	if err == nil {
		err = osservice.Do(ctx, relayService, c, stdout, stderr)
	}
	return osservice.Exit(err, "relay", stderr)
}

// runAsService is "relay --service FLAGS", as the Windows service control
// manager starts it: the relay with FLAGS, stopped by the service control
// manager, logging to a file and the Event Log.
func runAsService(ctx context.Context, args []string, stderr io.Writer) int {
	return osservice.RunService(ctx, relayService, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, args, strings.NewReader(""), stdout, stderr)
	}, stderr)
}

// serviceUsage is the help of "relay service".
const serviceUsage = `Usage:
    relay service install [-- RELAY-OPTIONS...]
    relay service uninstall|start|stop|status

On Windows, relay service makes the relay a Windows service, named
imageshare-relay ("imageshare relay" in Services), that starts with
Windows and restarts after a failure. Run it from a command prompt opened
with "Run as administrator"; status needs no administrator.

    install     Register the service to run this relay.exe, where it is
                (copy it to e.g. C:\Program Files\imageshare first), as
                "relay --service" with RELAY-OPTIONS. Unless given,
                --identity is %ProgramData%\imageshare\relay.key.
                "relay service install --help" says more.
    uninstall   Stop the service and remove it; its key and log stay.
    start       Start it now (Windows starts it at each boot); the log
                then holds the "address for senders" lines.
    stop        Stop it, waiting up to 30 seconds.
    status      Print its state, process, command line and log file.

The service logs what the relay prints to
%ProgramData%\imageshare\logs\relay.log (the previous 10 MB in
relay.log.1), and its start, stop and failures to the Windows Event Log
(Application, source imageshare-relay). Open TCP and UDP port 7472 in
Windows Defender Firewall: docs/NETWORKS.md gives the netsh lines.

On Linux and macOS, systemd or launchd runs the relay: relay service
prints how to install dist/systemd/imageshare-relay.service or
dist/launchd/org.imageshare.relay.plist, and exits 2.

Examples:
    relay service install
    relay service install -- --listen /ip4/0.0.0.0/tcp/443 --listen /ip4/0.0.0.0/udp/443/quic-v1
    relay service start
    relay service status
    relay service stop
    relay service uninstall

` + osservice.ExitStatusHelp

// serviceInstallUsage is the help of "relay service install".
const serviceInstallUsage = `Usage:
    relay service install [-- RELAY-OPTIONS...]

relay service install registers the Windows service imageshare-relay,
started automatically with Windows (delayed, after the network) and again
5 seconds after a failure. It runs this program, from where it is now, as

    relay.exe --service RELAY-OPTIONS

RELAY-OPTIONS are the relay's (relay --help), after "--"; they are checked
now, so that the service does not fail at its start. Unless given,
--identity is %ProgramData%\imageshare\relay.key: run "relay id --identity
%ProgramData%\imageshare\relay.key" to learn the peer ID before the first
start. The service runs as LocalSystem. To change its options, uninstall
it and install it again.

Examples:
    relay service install
    relay service install -- --max-reservations 4096 --max-reservations-per-ip 1024

EXIT STATUS
    0   the service is installed (start it with relay service start)
    1   an error, e.g. not run as administrator, or already installed
    2   bad usage, e.g. a RELAY-OPTION the relay refuses, or not Windows (the
        way to install the systemd unit or the launchd property list is
        printed)
`
