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
func WaitFor(ctx context.Context, want State, query func() (State, error), tick <-chan struct{}) (State, error) {
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
