package osservice

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// ServiceFlag is the argument, right after Spec.RunArgs, that tells a
// process the service control manager started it.
const ServiceFlag = "--service"

// Spec describes one of imageshare's services.
type Spec struct {
	// Name is the service's name for the service control manager and the
	// Event Log source, e.g. imageshare-sender.
	Name string
	// DisplayName and Description are what services.msc shows.
	DisplayName string
	Description string
	// Program is the command's name, e.g. sender, for messages.
	Program string
	// RunArgs come first on the service's command line, e.g. serve; then
	// ServiceFlag, then the administrator's flags.
	RunArgs []string
	// LogName is the log file's name in the logs folder of the state.
	LogName string
	// Defaults are flags added to the service's command line when the
	// administrator gave none of that name: a path under the service's
	// state folder, so that the service does not keep its files in the
	// profile of the account it runs as, and so that staff can see
	// (service status) where they are.
	Defaults []Default
	// Validate parses the administrator's flags as the service will, so
	// that install refuses what the service could not start with.
	Validate func(args []string) error
	// Systemd and Launchd are the units in dist/ that run the command on
	// Linux and macOS, and Binary where they expect the program.
	Systemd, Launchd, Binary string
}

// Default is a flag whose value is a path in the service's state folder.
type Default struct {
	Flag string // without dashes, e.g. spool
	Path string // relative to the state folder, e.g. spool
}

// CommandLine is the service's arguments (after the program's path): the
// RunArgs, ServiceFlag, the administrator's flags, and each Default the
// administrator did not give, under state.
func (s Spec) CommandLine(state string, admin []string) []string {
	args := append(slices.Clone(s.RunArgs), ServiceFlag)
	args = append(args, admin...)
	for _, d := range s.Defaults {
		if !hasFlag(admin, d.Flag) {
			args = append(args, "--"+d.Flag, filepath.Join(state, d.Path))
		}
	}
	return args
}

// hasFlag reports whether args set the flag name, in any form the flag
// package takes: -name, --name, -name=v or --name=v. It stops at "--".
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a, ok := strings.CutPrefix(a, "-")
		if !ok {
			continue
		}
		a = strings.TrimPrefix(a, "-")
		a, _, _ = strings.Cut(a, "=")
		if a == name {
			return true
		}
	}
	return false
}

// ServiceMode reports whether args, those after Spec.RunArgs, start with
// ServiceFlag, and returns the arguments that follow it.
func ServiceMode(args []string) ([]string, bool) {
	if len(args) > 0 && args[0] == ServiceFlag {
		return args[1:], true
	}
	return args, false
}

// LogPath is the service's log file under the state folder.
func LogPath(state, name string) string {
	return filepath.Join(state, "logs", name)
}

// Action is what "service ACTION" asks.
type Action string

// The actions of "service".
const (
	Install   Action = "install"
	Uninstall Action = "uninstall"
	Start     Action = "start"
	Stop      Action = "stop"
	Status    Action = "status"
)

// Actions in the order the help lists them.
var Actions = []Action{Install, Uninstall, Start, Stop, Status}

// Command is a parsed "service ACTION [-- FLAGS]".
type Command struct {
	Action Action
	// Args are the flags after "install --", for the service to run with.
	Args []string
}

// ErrHelp is returned by ParseCommand for -h or --help.
var ErrHelp = errors.New("help requested")

// UsageError is a mistake on the command line of "service".
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ParseCommand parses the arguments after "service". Only install takes
// arguments: the command's flags, after "--", e.g.
// "install -- --spool D:\imageshare\spool".
func ParseCommand(program string, args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, &UsageError{fmt.Sprintf("%s service needs an action: %s", program, actionList())}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		return Command{}, ErrHelp
	}
	a := Action(args[0])
	if !slices.Contains(Actions, a) {
		return Command{}, &UsageError{fmt.Sprintf("unknown action %q: the actions are %s", args[0], actionList())}
	}
	rest := args[1:]
	if i := slices.Index(rest, "--"); i >= 0 {
		if a != Install {
			return Command{}, &UsageError{fmt.Sprintf("%s service %s takes no flags for the service; give them to install", program, a)}
		}
		before, after := rest[:i], rest[i+1:]
		if err := noArgs(program, a, before); err != nil {
			return Command{}, err
		}
		return Command{Action: a, Args: slices.Clone(after)}, nil
	}
	if err := noArgs(program, a, rest); err != nil {
		return Command{}, err
	}
	return Command{Action: a}, nil
}

// noArgs checks the arguments of an action before any "--": only -h and
// --help are allowed.
func noArgs(program string, a Action, args []string) error {
	for _, arg := range args {
		switch arg {
		case "-h", "-help", "--help":
			return ErrHelp
		}
	}
	if len(args) == 0 {
		return nil
	}
	if a == Install {
		return &UsageError{fmt.Sprintf("give the service's flags after --, e.g. %s service install -- %s", program, strings.Join(args, " "))}
	}
	return &UsageError{fmt.Sprintf("%s service %s takes no arguments, but was given %q", program, a, args[0])}
}

func actionList() string {
	var s []string
	for _, a := range Actions {
		s = append(s, string(a))
	}
	return strings.Join(s, ", ")
}

// UnsupportedError is "service" asked on a system without the Windows
// service control manager. Instructions says what to do there instead.
type UnsupportedError struct {
	Spec Spec
	GOOS string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s service manages a Windows service; %s", e.Spec.Program, e.Manager())
}

// Manager says what runs the command as a service on e.GOOS.
func (e *UnsupportedError) Manager() string {
	s := e.Spec
	switch e.GOOS {
	case "linux":
		return fmt.Sprintf("on Linux, systemd runs %s with the unit in %s", s.Program, s.Systemd)
	case "darwin":
		return fmt.Sprintf("on macOS, launchd runs %s with the property list in %s", s.Program, s.Launchd)
	}
	return fmt.Sprintf("on %s, run %s under the system's service manager", e.GOOS, s.Program)
}

// Instructions are the steps that install the service on e.GOOS, one a
// line, for an administrator to run from the unpacked release.
func (e *UnsupportedError) Instructions() []string {
	s := e.Spec
	unit := filepath.Base(s.Systemd)
	plist := filepath.Base(s.Launchd)
	label := strings.TrimSuffix(plist, ".plist")
	switch e.GOOS {
	case "linux":
		return []string{
			"the unit's comments say what it needs first; then, as root:",
			fmt.Sprintf("install -m 0755 %s %s", s.Program, s.Binary),
			fmt.Sprintf("install -m 0644 %s /etc/systemd/system/", s.Systemd),
			fmt.Sprintf("systemctl daemon-reload && systemctl enable --now %s", strings.TrimSuffix(unit, ".service")),
			fmt.Sprintf("systemctl status %s; journalctl -u %s", strings.TrimSuffix(unit, ".service"), strings.TrimSuffix(unit, ".service")),
		}
	case "darwin":
		return []string{
			"the property list's comments say what it needs first (a user, its folders); then, as root:",
			fmt.Sprintf("install -m 0755 %s %s", s.Program, s.Binary),
			fmt.Sprintf("install -m 0644 -o root -g wheel %s /Library/LaunchDaemons/", s.Launchd),
			fmt.Sprintf("launchctl bootstrap system /Library/LaunchDaemons/%s", plist),
			fmt.Sprintf("launchctl print system/%s; tail /Library/Logs/imageshare/%s.log", label, s.Program),
		}
	}
	return nil
}

// LocationWarning warns when exe, about to be registered as a service,
// lies in the profile home of the user installing it (Downloads, the
// Desktop): the service runs it from there, and fails once that copy is
// cleaned away. It is "" for a program elsewhere.
func LocationWarning(exe, home string) string {
	if home == "" {
		return ""
	}
	rel, err := filepath.Rel(home, exe)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return fmt.Sprintf("%s is in your profile (%s), and the service will run it from there: "+
		"it stops working when that copy is moved or deleted", exe, home)
}
