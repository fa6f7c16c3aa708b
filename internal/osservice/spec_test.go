package osservice

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var testSpec = Spec{
	Name:     "imageshare-sender",
	Program:  "sender",
	RunArgs:  []string{"serve"},
	LogName:  "sender-serve.log",
	Defaults: []Default{{Flag: "spool", Path: "spool"}, {Flag: "audit", Path: "audit-sender.jsonl"}},
	Systemd:  "dist/systemd/imageshare-sender.service",
	Launchd:  "dist/launchd/org.imageshare.sender.plist",
	Binary:   "/usr/local/bin/sender",
}

func TestCommandLine(t *testing.T) {
	state := filepath.Join("state", "imageshare")
	spool := filepath.Join(state, "spool")
	trail := filepath.Join(state, "audit-sender.jsonl")
	for _, tc := range []struct {
		admin, want []string
	}{
		{nil, []string{"serve", "--service", "--spool", spool, "--audit", trail}},
		{[]string{"--spool", `D:\spool`}, []string{"serve", "--service", "--spool", `D:\spool`, "--audit", trail}},
		{[]string{"-spool=D:/s", "--relay", "/dns4/r/tcp/7472/p2p/X"}, []string{"serve", "--service", "-spool=D:/s", "--relay", "/dns4/r/tcp/7472/p2p/X", "--audit", trail}},
		{[]string{"--audit=a.jsonl", "--spool", "s"}, []string{"serve", "--service", "--audit=a.jsonl", "--spool", "s"}},
		// A value that looks like the flag is not the flag.
		{[]string{"--site", "spool"}, []string{"serve", "--service", "--site", "spool", "--spool", spool, "--audit", trail}},
	} {
		got := testSpec.CommandLine(state, tc.admin)
		if !slices.Equal(got, tc.want) {
			t.Errorf("CommandLine(%q) = %q, want %q", tc.admin, got, tc.want)
		}
	}
	// The spec's RunArgs are not changed by appending.
	s := testSpec
	s.RunArgs = make([]string, 1, 8)
	s.RunArgs[0] = "serve"
	s.CommandLine(state, []string{"--x"})
	if got := s.RunArgs[:cap(s.RunArgs)][1]; got != "" {
		t.Errorf("CommandLine wrote %q into RunArgs' array", got)
	}
}

func TestHasFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--spool", "x"}, true},
		{[]string{"-spool", "x"}, true},
		{[]string{"--spool=x"}, true},
		{[]string{"-spool=x"}, true},
		{[]string{"---spool"}, false},
		{[]string{"--spoolx"}, false},
		{[]string{"spool"}, false},
		{[]string{"--", "--spool"}, false},
	} {
		if got := hasFlag(tc.args, "spool"); got != tc.want {
			t.Errorf("hasFlag(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestServiceMode(t *testing.T) {
	if rest, ok := ServiceMode([]string{"--service", "--spool", "s"}); !ok || !slices.Equal(rest, []string{"--spool", "s"}) {
		t.Errorf("ServiceMode = %q, %v", rest, ok)
	}
	for _, args := range [][]string{nil, {"--spool", "s", "--service"}, {"-service"}} {
		if _, ok := ServiceMode(args); ok {
			t.Errorf("ServiceMode(%q) is service mode", args)
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    Command
		err     string // "" for none, "help" for ErrHelp, else a part of the usage error
		usesErr bool
	}{
		{args: []string{"install"}, want: Command{Action: Install}},
		{args: []string{"install", "--"}, want: Command{Action: Install, Args: []string{}}},
		{args: []string{"install", "--", "--spool", `C:\s`, "--relay", "/ip4/1.2.3.4/tcp/7472/p2p/X"},
			want: Command{Action: Install, Args: []string{"--spool", `C:\s`, "--relay", "/ip4/1.2.3.4/tcp/7472/p2p/X"}}},
		// --help after -- is the service's, for Validate to refuse.
		{args: []string{"install", "--", "--help"}, want: Command{Action: Install, Args: []string{"--help"}}},
		{args: []string{"uninstall"}, want: Command{Action: Uninstall}},
		{args: []string{"start"}, want: Command{Action: Start}},
		{args: []string{"stop"}, want: Command{Action: Stop}},
		{args: []string{"status"}, want: Command{Action: Status}},
		{args: []string{"--help"}, err: "help"},
		{args: []string{"help"}, err: "help"},
		{args: []string{"install", "--help"}, err: "help"},
		{args: []string{"status", "-h"}, err: "help"},
		{args: nil, err: "needs an action: install, uninstall, start, stop, status"},
		{args: []string{"restart"}, err: `unknown action "restart"`},
		{args: []string{"install", "--spool", "x"}, err: "give the service's flags after --, e.g. sender service install -- --spool x"},
		{args: []string{"start", "now"}, err: `sender service start takes no arguments, but was given "now"`},
		{args: []string{"stop", "--", "--x"}, err: "give them to install"},
	} {
		got, err := ParseCommand("sender", tc.args)
		switch {
		case tc.err == "help":
			if !errors.Is(err, ErrHelp) {
				t.Errorf("ParseCommand(%q) = %v, want help", tc.args, err)
			}
		case tc.err != "":
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseCommand(%q) = %v, want a usage error with %q", tc.args, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseCommand(%q): %v", tc.args, err)
		case got.Action != tc.want.Action || !slices.Equal(got.Args, tc.want.Args):
			t.Errorf("ParseCommand(%q) = %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

func TestUnsupported(t *testing.T) {
	linux := &UnsupportedError{Spec: testSpec, GOOS: "linux"}
	if !strings.Contains(linux.Error(), "systemd") || !strings.Contains(linux.Error(), testSpec.Systemd) {
		t.Errorf("linux: %v", linux)
	}
	steps := strings.Join(linux.Instructions(), "\n")
	for _, want := range []string{
		"install -m 0755 sender /usr/local/bin/sender",
		"install -m 0644 dist/systemd/imageshare-sender.service /etc/systemd/system/",
		"systemctl enable --now imageshare-sender",
	} {
		if !strings.Contains(steps, want) {
			t.Errorf("linux steps lack %q:\n%s", want, steps)
		}
	}
	mac := &UnsupportedError{Spec: testSpec, GOOS: "darwin"}
	if !strings.Contains(mac.Error(), "launchd") {
		t.Errorf("darwin: %v", mac)
	}
	steps = strings.Join(mac.Instructions(), "\n")
	for _, want := range []string{
		"install -m 0644 -o root -g wheel dist/launchd/org.imageshare.sender.plist /Library/LaunchDaemons/",
		"launchctl bootstrap system /Library/LaunchDaemons/org.imageshare.sender.plist",
		"launchctl print system/org.imageshare.sender",
	} {
		if !strings.Contains(steps, want) {
			t.Errorf("darwin steps lack %q:\n%s", want, steps)
		}
	}
	if got := (&UnsupportedError{Spec: testSpec, GOOS: "freebsd"}).Instructions(); got != nil {
		t.Errorf("freebsd steps: %q", got)
	}
}

func TestLocationWarning(t *testing.T) {
	home := filepath.Join(string(filepath.Separator)+"home", "clerk")
	for _, tc := range []struct {
		exe  string
		warn bool
	}{
		{filepath.Join(home, "Downloads", "imageshare", "sender.exe"), true},
		{filepath.Join(home, "sender.exe"), true},
		{filepath.Join(string(filepath.Separator)+"opt", "imageshare", "sender.exe"), false},
		{filepath.Join(string(filepath.Separator)+"home", "clerk2", "sender.exe"), false},
		{filepath.Join(string(filepath.Separator)+"home", "..clerk", "sender.exe"), false},
	} {
		if got := LocationWarning(tc.exe, home); (got != "") != tc.warn {
			t.Errorf("LocationWarning(%q) = %q, want a warning: %v", tc.exe, got, tc.warn)
		}
	}
	if got := LocationWarning(filepath.Join(home, "x"), ""); got != "" {
		t.Errorf("no home: %q", got)
	}
}
