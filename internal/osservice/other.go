//go:build !windows

package osservice

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// StateDir is where a Windows service keeps its files; elsewhere the
// service managers' units say where.
func StateDir() string { return "" }

// Do refuses: outside Windows, systemd or launchd runs the command, with
// the units in dist/. The error's Instructions say how to install them.
func Do(_ context.Context, s Spec, _ Command, _, _ io.Writer) error {
	return &UnsupportedError{Spec: s, GOOS: runtime.GOOS}
}

// RunService refuses: only the Windows service control manager starts a
// command with ServiceFlag.
func RunService(_ context.Context, s Spec, _ func(ctx context.Context, stdout, stderr io.Writer) int, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: error: %s is for the Windows service control manager\n", s.Program, ServiceFlag)
	e := &UnsupportedError{Spec: s, GOOS: runtime.GOOS}
	fmt.Fprintf(stderr, "hint: leave it out; %s\n", e.Manager())
	return 2
}
