package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpDocumentsExamplesAndExitCodes(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &out, &out); code != exitOK {
		t.Fatalf("--help exited %d", code)
	}
	help := out.String()
	for _, code := range []int{exitOK, exitError, exitUsage, exitIdentity, exitListen} {
		if !strings.Contains(help, fmt.Sprintf("\n    %-3d ", code)) {
			t.Errorf("--help does not document exit status %d", code)
		}
	}
	for _, s := range []string{"Examples:\n", "EXIT STATUS", "relay id", "--max-reservations-per-ip",
		"--max-circuits", "--buffer", "--reservation-ttl", "--json", "--identity", "--listen"} {
		if !strings.Contains(help, s) {
			t.Errorf("--help does not mention %q", s)
		}
	}
	if strings.Contains(help, "%!") {
		t.Errorf("--help has a formatting error:\n%s", help)
	}
}

func TestUsageErrorsNameTheFlag(t *testing.T) {
	key := filepath.Join(t.TempDir(), "relay.key")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-circuits", "0"}, "--max-circuits"},
		{[]string{"--max-reservations", "-1"}, "--max-reservations"},
		{[]string{"--max-reservations-per-ip", "0"}, "--max-reservations-per-ip"},
		{[]string{"--buffer", "abc"}, "--buffer"},
		{[]string{"--buffer", "512"}, "--buffer"},
		{[]string{"--buffer", "1000000000"}, "--buffer"},
		{[]string{"--reservation-ttl", "10s"}, "--reservation-ttl"},
		{[]string{"--reservation-ttl", "soon"}, "--reservation-ttl"},
		{[]string{"--listen", "0.0.0.0:7472"}, "--listen"},
		{[]string{"--listen", "/ip4/0.0.0.0/udp/7472"}, "--listen"},
		{[]string{"--listen", "/dns4/example.org/tcp/7472"}, "--listen"},
		{[]string{"--listen"}, "--listen"},
		{[]string{"--colour"}, "--colour"},
		{[]string{"--json", "extra"}, `"extra"`},
		{[]string{"serve"}, `"serve"`},
		{[]string{"id", "--colour"}, "--colour"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{}, tc.args...)
		if tc.args[0] != "id" && tc.args[0] != "serve" {
			args = append([]string{"--identity", key}, args...)
		}
		code := run(context.Background(), args, nil, &stdout, &stderr)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", tc.args, code, exitUsage, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: the error does not name %s: %s", tc.args, tc.want, stderr.String())
		}
	}
	if _, err := os.Stat(key); err == nil {
		t.Error("a usage error made an identity")
	}
}

func TestIdentityFile(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "state", "relay.key")
	id := func() (string, string, int) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"id", "--identity", key}, nil, &stdout, &stderr)
		return strings.TrimSpace(stdout.String()), stderr.String(), code
	}

	first, msg, code := id()
	if code != exitOK || first == "" {
		t.Fatalf("relay id: exit %d, %q, %s", code, first, msg)
	}
	if !strings.Contains(msg, "made a new identity") {
		t.Errorf("relay id did not say it made a key: %s", msg)
	}
	st, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("new identity has mode %04o, want 0600", st.Mode().Perm())
	}

	second, msg, code := id()
	if code != exitOK || second != first {
		t.Fatalf("second start: exit %d, peer ID %q, want %q (%s)", code, second, first, msg)
	}
	if strings.Contains(msg, "made a new identity") {
		t.Errorf("second start made a new key: %s", msg)
	}

	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, msg, code := id(); code != exitIdentity || !strings.Contains(msg, key) || !strings.Contains(msg, "0644") || !strings.Contains(msg, "chmod 600") {
		t.Errorf("mode 0644: exit %d, want %d, naming the file, its mode and the fix: %s", code, exitIdentity, msg)
	}

	if err := os.WriteFile(key, []byte("this is not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, msg, code := id(); code != exitIdentity || !strings.Contains(msg, key) || !strings.Contains(msg, "not an Ed25519 key") {
		t.Errorf("garbage: exit %d, want %d, naming the file: %s", code, exitIdentity, msg)
	}
	// The relay itself refuses it too, before it listens.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--identity", key, "--listen", "/ip4/127.0.0.1/tcp/0"}, nil, &stdout, &stderr); code != exitIdentity {
		t.Errorf("relay with a garbage identity: exit %d, want %d (%s)", code, exitIdentity, stderr.String())
	}
}

func TestDefaultIdentityPath(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/var/lib/imageshare-relay:/var/lib/other")
	t.Setenv("XDG_STATE_HOME", "/home/x/.state")
	if got, want := defaultIdentityPath(), "/var/lib/imageshare-relay/relay.key"; got != want {
		t.Errorf("under systemd: %s, want %s", got, want)
	}
	t.Setenv("STATE_DIRECTORY", "")
	if got, want := defaultIdentityPath(), "/home/x/.state/imageshare/relay.key"; got != want {
		t.Errorf("with XDG_STATE_HOME: %s, want %s", got, want)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/y")
	if got, want := defaultIdentityPath(), "/home/y/.local/state/imageshare/relay.key"; got != want {
		t.Errorf("with HOME only: %s, want %s", got, want)
	}
}

func TestListenPortTaken(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", l.Addr().(*net.TCPAddr).Port)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--identity", filepath.Join(t.TempDir(), "relay.key"), "--listen", addr}, nil, &stdout, &stderr)
	if code != exitListen {
		t.Errorf("exit %d, want %d (%s)", code, exitListen, stderr.String())
	}
	if !strings.Contains(stderr.String(), addr) {
		t.Errorf("the error does not name %s: %s", addr, stderr.String())
	}
}
