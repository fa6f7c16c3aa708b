package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"imageshare/internal/osservice"
)

// The service's command line is one the relay parses, with the key in the
// state folder unless the administrator gave one.
func TestServiceCommandLineParses(t *testing.T) {
	state := filepath.Join(t.TempDir(), "imageshare")
	for _, tc := range []struct {
		admin    []string
		identity string
	}{
		{nil, filepath.Join(state, "relay.key")},
		{[]string{"--identity", "D:/relay/relay.key", "--max-reservations", "4096"}, "D:/relay/relay.key"},
	} {
		args := relayService.CommandLine(state, tc.admin)
		rest, ok := osservice.ServiceMode(args)
		if !ok {
			t.Fatalf("command line %q does not start with --service", args)
		}
		o, err := parseRelay(rest)
		if err != nil {
			t.Fatalf("the relay refuses the service's flags %q: %v", rest, err)
		}
		if o.identity != tc.identity {
			t.Errorf("%q: identity %q, want %q", tc.admin, o.identity, tc.identity)
		}
	}
}

func TestServiceInstallChecksFlags(t *testing.T) {
	for _, args := range [][]string{{"--buffer", "1"}, {"--colour"}, {"run"}, {"--help"}, {"--listen", "0.0.0.0:7472"}} {
		err := relayService.Check(osservice.Command{Action: osservice.Install, Args: args})
		var ue *osservice.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestServiceCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows, relay service talks to the service control manager")
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"service", "--help"}, exitOK, "Usage:\n    relay service install", ""},
		{[]string{"service", "install", "-h"}, exitOK, "relay service install registers", ""},
		{[]string{"service", "stop", "now"}, exitUsage, "", `relay service stop takes no arguments, but was given "now"`},
		{[]string{"service", "start"}, exitUsage, "", "dist/systemd/imageshare-relay.service"},
		{[]string{"--service", "--listen", "/ip4/127.0.0.1/tcp/0"}, exitUsage, "", "relay: error: --service is for the Windows service control manager"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, nil, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("relay %q: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout.String(), stderr.String())
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
			t.Errorf("relay service --help does not document exit status %d", code)
		}
	}
}
