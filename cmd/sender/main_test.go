package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestHelpDocumentsEveryExitCode(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &out, &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, code := range []int{exitOK, exitError, exitUsage, exitBadInput, exitAmbiguous, exitNetwork, exitExpired, exitPACS, exitInterrupted} {
		if !strings.Contains(out.String(), fmt.Sprintf("\n    %-3d ", code)) && !strings.Contains(out.String(), fmt.Sprintf("\n    %d ", code)) {
			t.Errorf("--help does not document exit status %d", code)
		}
	}
	if !strings.Contains(out.String(), "Examples:") {
		t.Error("--help has no examples")
	}
}

func TestUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no command":      {},
		"unknown command": {"push"},
		"no path":         {"send"},
		"bad expiry":      {"send", "--expires", "-1h", "dir"},
		"study and all":   {"send", "--study", "1.2", "--all-studies", "dir"},
		"card not png":    {"send", "--card", "card.jpg", "dir"},
		"bad listen":      {"send", "--listen", "0.0.0.0:7471", "dir"},
		"unknown flag":    {"send", "--colour", "dir"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != exitUsage {
			t.Errorf("%s: exit %d, want %d (%s)", name, code, exitUsage, stderr.String())
		}
	}
}

func TestFlagsAfterPaths(t *testing.T) {
	o, err := parseSend([]string{"dir1", "--site", "A", "dir2", "--keep"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.site != "A" || !o.keep || len(o.paths) != 2 || o.paths[1] != "dir2" {
		t.Fatalf("parsed %+v", o)
	}
}

// A relay's TCP and QUIC addresses, given as two --relay flags, are one
// relay: the sender waits for one reservation, not two.
func TestParseRelaysMergesOneRelaysAddresses(t *testing.T) {
	const id = "12D3KooWFMfKMBYpr8Lt6zgWq4jnkg3ihu5XLjTv4jPqEpEVTctD"
	relays, err := parseRelays([]string{
		"/ip4/192.0.2.1/tcp/7472/p2p/" + id,
		"/ip4/192.0.2.1/udp/7472/quic-v1/p2p/" + id,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(relays) != 1 || len(relays[0].Addrs) != 2 {
		t.Fatalf("got %v, want one relay with two addresses", relays)
	}
	if _, err := parseRelays([]string{"/ip4/192.0.2.1/tcp/7472"}); err == nil {
		t.Error("a relay address without /p2p/ID was accepted")
	}
}
