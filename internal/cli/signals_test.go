package cli

import (
	"os"
	"slices"
	"syscall"
	"testing"
)

// TestStopSignals: Ctrl-C (and Ctrl-Break on Windows) and SIGTERM (and a
// closed console window on Windows) both stop a command.
func TestStopSignals(t *testing.T) {
	s := StopSignals()
	if !slices.Contains(s, os.Interrupt) || !slices.Contains(s, os.Signal(syscall.SIGTERM)) {
		t.Errorf("StopSignals = %v, want os.Interrupt and SIGTERM", s)
	}
}
