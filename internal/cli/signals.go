package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// StopSignals are the signals on which every command stops cleanly: it
// cancels its context, lets its deferred work run (an offer's record
// saved, a partial download kept for resuming) and exits 130.
//
//   - os.Interrupt: Ctrl-C; on Windows Ctrl-Break too, which Go delivers
//     as os.Interrupt once it is asked for.
//   - syscall.SIGTERM: kill, or a service manager stopping the command; on
//     Windows, closing the console window, logging off and shutting down
//     (CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT), which Go
//     delivers as SIGTERM and after which Windows ends the process within
//     seconds. A Windows service's stop request comes through the service
//     manager instead (golang.org/x/sys/windows/svc).
//
// A second signal ends the process at once, as signal.NotifyContext
// stops catching once the first has come.
func StopSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }

// NotifyContext returns a copy of ctx cancelled by the first of
// StopSignals, and the function that stops catching them.
func NotifyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, StopSignals()...)
}
