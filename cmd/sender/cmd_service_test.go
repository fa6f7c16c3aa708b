package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"imageshare/internal/osservice"
)

// The service's command line is one sender serve parses, with the
// administrator's flags and the defaults under the state folder.
func TestServiceCommandLineParses(t *testing.T) {
	state := filepath.Join(t.TempDir(), "imageshare")
	for _, admin := range [][]string{
		nil,
		{"--relay", "/ip4/203.0.113.7/tcp/7472/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", "--site", "St Elsewhere ED"},
		{"--spool", "D:/imageshare/spool", "--listen", "/ip4/0.0.0.0/tcp/7471"},
	} {
		args := senderService.CommandLine(state, admin)
		if !slices.Equal(args[:2], []string{"serve", osservice.ServiceFlag}) {
			t.Fatalf("command line %q does not start with serve --service", args)
		}
		rest, ok := osservice.ServiceMode(args[1:])
		if !ok {
			t.Fatalf("ServiceMode(%q) is not service mode", args[1:])
		}
		o, err := parseServe(rest)
		if err != nil {
			t.Fatalf("sender serve refuses the service's flags %q: %v", rest, err)
		}
		wantSpool := filepath.Join(state, "spool")
		if slices.Contains(admin, "--spool") {
			wantSpool = "D:/imageshare/spool"
		}
		if o.dir != wantSpool || o.auditPath != filepath.Join(state, "audit-sender.jsonl") {
			t.Errorf("%q: spool %q, audit %q", admin, o.dir, o.auditPath)
		}
	}
}

func TestServiceInstallChecksFlags(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown flag":    {[]string{"--colour", "red"}, "the service's flags: flag provided but not defined"},
		"an argument":     {[]string{"dir"}, "the service's flags: sender serve takes no arguments"},
		"a bad relay":     {[]string{"--relay", "relay.example.org"}, "the service's flags: "},
		"help":            {[]string{"--help"}, "--help is not a flag for the service"},
		"--service twice": {[]string{"--service"}, "the service's flags: "},
	} {
		err := senderService.Check(osservice.Command{Action: osservice.Install, Args: tc.args})
		var ue *osservice.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a usage error with %q", name, err, tc.want)
		}
	}
	if err := senderService.Check(osservice.Command{Action: osservice.Install, Args: []string{"--site", "A"}}); err != nil {
		t.Errorf("good flags: %v", err)
	}
}

func TestServiceCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows, sender service talks to the service control manager")
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"service", "--help"}, exitOK, "Usage:\n    sender service install", ""},
		{[]string{"service", "status", "--help"}, exitOK, "Usage:\n    sender service install [-- SERVE-OPTIONS...]\n    sender service uninstall", ""},
		{[]string{"service", "install", "--help"}, exitOK, "sender service install registers", ""},
		{[]string{"help", "service"}, exitOK, "Usage:\n    sender service install", ""},
		{[]string{"service"}, exitUsage, "", "sender: error: sender service needs an action"},
		{[]string{"service", "reload"}, exitUsage, "", `unknown action "reload"`},
		{[]string{"service", "install", "--spool", "x"}, exitUsage, "", "give the service's flags after --"},
		// Not Windows: the way of this system, and no pretending.
		{[]string{"service", "install"}, exitUsage, "", "hint: the unit's comments"},
		{[]string{"service", "status"}, exitUsage, "", "dist/systemd/imageshare-sender.service"},
		{[]string{"serve", "--service"}, exitUsage, "", "sender: error: --service is for the Windows service control manager"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, nil, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("sender %q: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout.String(), stderr.String())
		}
	}
}

func TestServiceHelpDocumentsExitCodes(t *testing.T) {
	for _, text := range []string{serviceUsage, serviceInstallUsage} {
		if !strings.Contains(text, "Examples:") || !strings.Contains(text, "EXIT STATUS") {
			t.Errorf("help without examples or exit status:\n%s", text)
		}
	}
	for _, code := range []int{exitOK, exitError, exitUsage, osservice.ExitNotRunning, osservice.ExitNotInstalled} {
		if !strings.Contains(serviceUsage, fmt.Sprintf("\n    %d   ", code)) {
			t.Errorf("sender service --help does not document exit status %d", code)
		}
	}
}
