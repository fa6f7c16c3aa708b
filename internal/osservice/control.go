package osservice

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Errors of the actions, for the commands' exit codes.
var (
	ErrNotInstalled     = errors.New("not installed")
	ErrAlreadyInstalled = errors.New("already installed")
	// ErrNotRunning is status's answer for a service installed but not
	// running.
	ErrNotRunning = errors.New("not running")
	// ErrAccessDenied is the service control manager refusing: the
	// actions but status need an administrator.
	ErrAccessDenied = errors.New("access denied")
)

// Info is what status reports of an installed service.
type Info struct {
	State State
	PID   uint32
	// ExitCode is the command's exit status when it last stopped.
	ExitCode    uint32
	CommandLine string // the program's path and arguments, as registered
	Automatic   bool   // starts when Windows starts
	Log         string // the log file
}

// Write prints info for the service called name, one fact a line.
func (i Info) Write(w io.Writer, name string) {
	switch {
	case i.State == Running && i.PID != 0:
		fmt.Fprintf(w, "%s: %s (process %d)\n", name, i.State, i.PID)
	case i.State == Stopped && i.ExitCode != 0:
		fmt.Fprintf(w, "%s: %s (last exit status %d: see the log)\n", name, i.State, i.ExitCode)
	default:
		fmt.Fprintf(w, "%s: %s\n", name, i.State)
	}
	start := "manual"
	if i.Automatic {
		start = "automatic, when Windows starts"
	}
	fmt.Fprintf(w, "start:   %s\n", start)
	fmt.Fprintf(w, "command: %s\n", i.CommandLine)
	fmt.Fprintf(w, "log:     %s\n", i.Log)
}

// WaitFor asks query for the service's state at each tick until it is
// want, and returns the last state seen. It returns early with an error
// if query fails, or when ctx ends (the service may then still get there).
func WaitFor[T any](ctx context.Context, want State, query func() (State, error), tick <-chan T) (State, error) {
	for {
		s, err := query()
		if err != nil || s == want {
			return s, err
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("still %s: %w", s, context.Cause(ctx))
		case <-tick:
		}
	}
}

// Check refuses flags that the service could not start with, before
// anything is installed.
func (s Spec) Check(c Command) error {
	if c.Action != Install || s.Validate == nil {
		return nil
	}
	if err := s.Validate(c.Args); err != nil {
		return &UsageError{fmt.Sprintf("the service's flags: %v", err)}
	}
	return nil
}

// Exit statuses of "service", beside the commands' 0, 1 and 2. Like the
// LSB's for init scripts: 3 not running, 4 not installed.
const (
	ExitNotRunning   = 3
	ExitNotInstalled = 4
)

// ExitStatusHelp ends the help of "sender service" and "relay service":
// the exit statuses above, with the commands' own.
const ExitStatusHelp = `EXIT STATUS
    0   done; for status: the service is running
    1   an error, e.g. not run as administrator, or already installed
    2   bad usage, or not Windows (the way to install the systemd unit or the
        launchd property list is printed)
    3   status: the service is installed but not running
    4   the service is not installed
`

// Exit prints err on stderr as program's diagnostics, with a hint where
// one helps, and returns the exit status of "program service".
func Exit(err error, program string, stderr io.Writer) int {
	var ue *UsageError
	var unsup *UnsupportedError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrNotRunning):
		// status printed the state on stdout.
		return ExitNotRunning
	case errors.As(err, &unsup):
		fmt.Fprintf(stderr, "%s: error: %v\n", program, err)
		if steps := unsup.Instructions(); len(steps) > 0 {
			fmt.Fprintf(stderr, "hint: %s\n", steps[0])
			for _, s := range steps[1:] {
				fmt.Fprintf(stderr, "    %s\n", s)
			}
		}
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: error: %v\nhint: see %s service --help\n", program, err, program)
		return 2
	}
	fmt.Fprintf(stderr, "%s: error: %v\n", program, err)
	switch {
	case errors.Is(err, ErrNotInstalled):
		fmt.Fprintf(stderr, "hint: %s service install installs it\n", program)
		return ExitNotInstalled
	case errors.Is(err, ErrAlreadyInstalled):
		fmt.Fprintf(stderr, "hint: to change its flags, %s service uninstall, then install again\n", program)
	case errors.Is(err, ErrAccessDenied):
		fmt.Fprintf(stderr, "hint: run it from a command prompt opened with \"Run as administrator\"\n")
	}
	return 1
}
