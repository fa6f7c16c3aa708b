//go:build windows

package osservice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"imageshare/internal/appdir"
)

// StateDir is where a service keeps its files: %ProgramData%\imageshare
// (appdir.State(appdir.Service)).
func StateDir() string {
	if d, err := appdir.State(appdir.Service); err == nil {
		return d
	}
	return `C:\ProgramData\imageshare`
}

// stopTimeout is how long stop and uninstall wait for the service to stop.
const stopTimeout = 30 * time.Second

// Do carries out c for the service s, printing what it did to stdout and
// warnings to stderr.
func Do(ctx context.Context, s Spec, c Command, stdout, stderr io.Writer) error {
	if err := s.Check(c); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service control manager: %w", winError(err))
	}
	defer m.Disconnect()
	if c.Action == Install {
		return install(m, s, c.Args, stdout, stderr)
	}
	sv, err := m.OpenService(s.Name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return fmt.Errorf("%s: %w", s.Name, ErrNotInstalled)
	}
	if err != nil {
		return fmt.Errorf("opening service %s: %w", s.Name, winError(err))
	}
	defer sv.Close()
	switch c.Action {
	case Uninstall:
		return uninstall(ctx, sv, s, stdout)
	case Start:
		return start(sv, s, stdout)
	case Stop:
		return stop(ctx, sv, s, stdout)
	case Status:
		return status(sv, s, stdout)
	}
	return &UsageError{fmt.Sprintf("unknown action %q", c.Action)}
}

func install(m *mgr.Mgr, s Spec, admin []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program's path: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("finding this program's path: %w", err)
	}
	if home, err := os.UserHomeDir(); err == nil {
		if w := LocationWarning(exe, home); w != "" {
			fmt.Fprintf(stderr, "%s: warning: %s\n", s.Program, w)
			fmt.Fprintf(stderr, "hint: copy it to e.g. C:\\Program Files\\imageshare, and install the service from there\n")
		}
	}
	if sv, err := m.OpenService(s.Name); err == nil {
		sv.Close()
		return fmt.Errorf("%s: %w", s.Name, ErrAlreadyInstalled)
	}
	args := s.CommandLine(StateDir(), admin)
	sv, err := m.CreateService(s.Name, exe, mgr.Config{
		DisplayName:  s.DisplayName,
		Description:  s.Description,
		StartType:    mgr.StartAutomatic,
		ErrorControl: mgr.ErrorNormal,
		// After the network and the services it needs have started.
		DelayedAutoStart: true,
	}, args...)
	if err != nil {
		return fmt.Errorf("installing service %s: %w", s.Name, winError(err))
	}
	defer sv.Close()
	// Restart after a failure, as systemd's Restart=on-failure does: after
	// 5 s, again after 5 s, then every minute; the count starts again after
	// a day without failure. An exit status other than 0 is a failure too.
	restart := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
	}
	if err := sv.SetRecoveryActions(restart, uint32((24 * time.Hour).Seconds())); err != nil {
		fmt.Fprintf(stderr, "%s: warning: cannot set restart on failure: %v\n", s.Program, err)
	} else if err := sv.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		fmt.Fprintf(stderr, "%s: warning: cannot set restart on failure: %v\n", s.Program, err)
	}
	// The Event Log source; it may remain from an earlier install.
	if err := eventlog.InstallAsEventCreate(s.Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil && !strings.Contains(err.Error(), "exists") {
		fmt.Fprintf(stderr, "%s: warning: cannot register with the Event Log: %v\n", s.Program, err)
	}
	fmt.Fprintf(stdout, "installed service %s (%q), started automatically with Windows\n", s.Name, s.DisplayName)
	fmt.Fprintf(stdout, "command: %s\n", windows.ComposeCommandLine(append([]string{exe}, args...)))
	fmt.Fprintf(stdout, "log:     %s\n", LogPath(StateDir(), s.LogName))
	fmt.Fprintf(stdout, "start it now with: %s service start\n", s.Program)
	return nil
}

func uninstall(ctx context.Context, sv *mgr.Service, s Spec, stdout io.Writer) error {
	if st, err := sv.Query(); err == nil && st.State != svc.Stopped {
		if err := stop(ctx, sv, s, stdout); err != nil {
			return err
		}
	}
	if err := sv.Delete(); err != nil {
		return fmt.Errorf("uninstalling service %s: %w", s.Name, winError(err))
	}
	eventlog.Remove(s.Name)
	fmt.Fprintf(stdout, "uninstalled service %s; its state and log stay in %s\n", s.Name, StateDir())
	return nil
}

func start(sv *mgr.Service, s Spec, stdout io.Writer) error {
	if st, err := sv.Query(); err == nil && st.State == svc.Running {
		fmt.Fprintf(stdout, "%s is already running\n", s.Name)
		return nil
	}
	if err := sv.Start(); err != nil {
		return fmt.Errorf("starting service %s: %w", s.Name, winError(err))
	}
	fmt.Fprintf(stdout, "started %s; see %s service status, and the log %s\n", s.Name, s.Program, LogPath(StateDir(), s.LogName))
	return nil
}

func stop(ctx context.Context, sv *mgr.Service, s Spec, stdout io.Writer) error {
	st, err := sv.Query()
	if err != nil {
		return fmt.Errorf("querying service %s: %w", s.Name, winError(err))
	}
	if st.State == svc.Stopped {
		fmt.Fprintf(stdout, "%s is not running\n", s.Name)
		return nil
	}
	if _, err := sv.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("stopping service %s: %w", s.Name, winError(err))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, stopTimeout, fmt.Errorf("%s did not stop within %v", s.Name, stopTimeout))
	defer cancel()
	ticker := time.NewTicker(300 * time.Millisecond)
	defer ticker.Stop()
	if _, err := WaitFor(ctx, Stopped, func() (State, error) {
		st, err := sv.Query()
		return fromSvc(st.State), winError(err)
	}, ticker.C); err != nil {
		return fmt.Errorf("stopping service %s: %w", s.Name, err)
	}
	fmt.Fprintf(stdout, "stopped %s\n", s.Name)
	return nil
}

func status(sv *mgr.Service, s Spec, stdout io.Writer) error {
	st, err := sv.Query()
	if err != nil {
		return fmt.Errorf("querying service %s: %w", s.Name, winError(err))
	}
	cfg, err := sv.Config()
	if err != nil {
		return fmt.Errorf("querying service %s: %w", s.Name, winError(err))
	}
	info := Info{
		State:       fromSvc(st.State),
		PID:         st.ProcessId,
		ExitCode:    st.ServiceSpecificExitCode,
		CommandLine: cfg.BinaryPathName,
		Automatic:   cfg.StartType == mgr.StartAutomatic,
		Log:         LogPath(StateDir(), s.LogName),
	}
	info.Write(stdout, s.Name)
	if info.State != Running {
		return fmt.Errorf("%s: %w", s.Name, ErrNotRunning)
	}
	return nil
}

// winError marks the service control manager's refusals.
func winError(err error) error {
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}

func fromSvc(s svc.State) State {
	switch s {
	case svc.Running:
		return Running
	case svc.StartPending, svc.ContinuePending:
		return StartPending
	case svc.StopPending, svc.PausePending, svc.Paused:
		return StopPending
	}
	return Stopped
}

func toSvc(s State) svc.State {
	switch s {
	case StartPending:
		return svc.StartPending
	case Running:
		return svc.Running
	case StopPending:
		return svc.StopPending
	}
	return svc.Stopped
}

// RunService runs the command as the service s, once the service control
// manager has started this process with ServiceFlag. Its output goes to
// the log file, and its start, stop and failure to the Event Log. It
// returns the exit status.
func RunService(ctx context.Context, s Spec, run func(ctx context.Context, stdout, stderr io.Writer) int, stderr io.Writer) int {
	isService, err := svc.IsWindowsService()
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: cannot tell whether the service control manager started this: %v\n", s.Program, err)
		return 1
	}
	if !isService {
		fmt.Fprintf(stderr, "%s: error: %s is for the service control manager\n", s.Program, ServiceFlag)
		fmt.Fprintf(stderr, "hint: %s service start starts the service; to run it here, leave out %s\n", s.Program, ServiceFlag)
		return 2
	}
	ev := eventLogger{}
	if l, err := eventlog.Open(s.Name); err == nil {
		ev.log = l
		defer l.Close()
	}
	logPath := LogPath(StateDir(), s.LogName)
	lf, err := OpenLog(logPath, LogOptions{})
	if err != nil {
		ev.Error(fmt.Sprintf("%s cannot start: %v", s.Name, err))
		return 1
	}
	defer lf.Close()
	ev.suffix = " (log: " + logPath + ")"
	h := &handler{ctx: ctx, e: Execution{
		Name:      s.Name,
		Run:       func(ctx context.Context) int { return run(ctx, lf, lf) },
		Log:       ev,
		LastError: lf.LastError,
	}}
	if err := svc.Run(s.Name, h); err != nil {
		ev.Error(fmt.Sprintf("%s: the service control manager: %v", s.Name, err))
		fmt.Fprintf(lf, "%s: error: the service control manager: %v\n", s.Program, err)
		return 1
	}
	return h.code
}

// pendingWaitHint is the wait hint of StartPending and StopPending, in
// milliseconds.
const pendingWaitHint = 20000

// handler adapts Execution to svc.Handler.
type handler struct {
	ctx  context.Context
	e    Execution
	code int
}

func (h *handler) Execute(_ []string, r <-chan svc.ChangeRequest, s chan<- svc.Status) (bool, uint32) {
	accepts := svc.AcceptStop | svc.AcceptShutdown
	h.e.Report = func(st State) {
		if st == Stopped {
			// svc.Run reports Stopped once Execute returns, with the
			// exit status.
			return
		}
		status := svc.Status{State: toSvc(st)}
		switch st {
		case Running:
			status.Accepts = accepts
		case StartPending, StopPending:
			// How long the service control manager should wait before it
			// thinks the service hung: serve closes its connections and
			// the spool, the relay its circuits.
			status.WaitHint = pendingWaitHint
		}
		s <- status
	}
	requests := make(chan Request)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-r:
				req := Other
				switch c.Cmd {
				case svc.Interrogate:
					req = Interrogate
				case svc.Stop:
					req = StopRequest
				case svc.Shutdown:
					req = Shutdown
				}
				select {
				case requests <- req:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	h.code = h.e.Execute(h.ctx, requests)
	if h.code != 0 {
		return true, uint32(h.code)
	}
	return false, 0
}

// eventLogger writes to the Event Log, when the source could be opened.
type eventLogger struct {
	log    *eventlog.Log
	suffix string
}

// Event IDs: 1 for start and stop, 2 for failures.
const (
	eventInfo  = 1
	eventError = 2
)

func (e eventLogger) Info(msg string) {
	if e.log != nil {
		e.log.Info(eventInfo, msg+e.suffix)
	}
}

func (e eventLogger) Error(msg string) {
	if e.log != nil {
		e.log.Error(eventError, msg+e.suffix)
	}
}
