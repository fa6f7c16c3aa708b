package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"imageshare/internal/osservice"
)

// senderService is sender serve as a Windows service.
var senderService = osservice.Spec{
	Name:        "imageshare-sender",
	DisplayName: "imageshare sender",
	Description: "Serves the imaging studies that this hospital offers with imageshare QR cards " +
		"to the receiving hospitals. While it is stopped, no card can be used.",
	Program: "sender",
	RunArgs: []string{"serve"},
	LogName: "sender-serve.log",
	// The service's spool and audit trail, in %ProgramData%\imageshare
	// unless the administrator says otherwise: staff give the same
	// --spool to sender send.
	Defaults: []osservice.Default{
		{Flag: "spool", Path: "spool"},
		{Flag: "audit", Path: "audit-sender.jsonl"},
	},
	Validate: validateServe,
	Systemd:  "dist/systemd/imageshare-sender.service",
	Launchd:  "dist/launchd/org.imageshare.sender.plist",
	Binary:   "/usr/local/bin/sender",
}

// validateServe checks a service's flags as sender serve will parse them.
func validateServe(args []string) error {
	_, err := parseServe(args)
	if errors.Is(err, errHelp) {
		return errors.New("--help is not a flag for the service")
	}
	return err
}

// runService is "sender service ACTION": it installs, removes, starts,
// stops or shows the Windows service that runs sender serve.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := osservice.ParseCommand("sender", args)
	if errors.Is(err, osservice.ErrHelp) {
		if len(args) > 0 && args[0] == string(osservice.Install) {
			printHelp(stdout, "service install")
		} else {
			printHelp(stdout, "service")
		}
		return exitOK
	}
	if err == nil {
		err = osservice.Do(ctx, senderService, c, stdout, stderr)
	}
	return osservice.Exit(err, "sender", stderr)
}

// runAsService is "sender serve --service FLAGS", as the Windows service
// control manager starts it: sender serve with FLAGS, stopped by the
// service control manager, logging to a file and the Event Log.
func runAsService(ctx context.Context, args []string, stderr io.Writer) int {
	return osservice.RunService(ctx, senderService, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), stdout, stderr)
	}, stderr)
}
