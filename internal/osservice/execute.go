package osservice

import (
	"context"
	"errors"
	"fmt"
)

// State is a service's state as the service control manager knows it.
type State int

// The states a service reports.
const (
	Stopped State = iota
	StartPending
	Running
	StopPending
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case StartPending:
		return "starting"
	case Running:
		return "running"
	case StopPending:
		return "stopping"
	}
	return fmt.Sprintf("state %d", int(s))
}

// Request is what the service control manager asks of a running service.
type Request int

// The requests a service acts on; others are answered with its state.
const (
	Interrogate Request = iota
	StopRequest
	Shutdown
	Other
)

// Logger receives the events worth an administrator's attention: the
// Event Log on Windows.
type Logger interface {
	Info(msg string)
	Error(msg string)
}

// ErrStopRequested is the cause of the context's end when the service
// control manager asks the service to stop.
var ErrStopRequested = errors.New("stop requested by the service control manager")

// Execution is one run of a service under a service manager: the state
// machine behind svc.Handler's Execute, without Windows types.
type Execution struct {
	// Name names the service in the Logger's messages.
	Name string
	// Run is the command (sender serve, the relay) with the context that a
	// stop request cancels; it returns the command's exit status.
	Run func(ctx context.Context) int
	// Report tells the service manager each state as it is entered, and
	// again when interrogated.
	Report func(State)
	Log    Logger
	// LastError, if not nil, gives the command's last error line, for the
	// Logger's message when the command fails.
	LastError func() string
}

// Execute runs e.Run and reports StartPending, Running, StopPending and
// Stopped as they come. A Stop or Shutdown request cancels Run's context;
// Execute then waits for Run to return. It returns Run's exit status: 0
// after a requested stop that went well, and the command's own status
// when it ended by itself (a failure: a service runs until stopped).
func (e *Execution) Execute(ctx context.Context, requests <-chan Request) int {
	state := StartPending
	set := func(s State) {
		state = s
		e.Report(s)
	}
	set(StartPending)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan int, 1)
	go func() { done <- e.Run(ctx) }()
	set(Running)
	e.Log.Info(e.Name + " started")

	stopping := false
	for {
		select {
		case code := <-done:
			if !stopping {
				set(StopPending)
			}
			e.finished(code, stopping)
			set(Stopped)
			return code
		case r := <-requests:
			switch r {
			case StopRequest, Shutdown:
				if !stopping {
					stopping = true
					set(StopPending)
					cancel(ErrStopRequested)
				}
			default:
				e.Report(state)
			}
		}
	}
}

// finished logs how the command ended.
func (e *Execution) finished(code int, requested bool) {
	switch {
	case code == 0 && requested:
		e.Log.Info(e.Name + " stopped")
	case code == 0:
		e.Log.Error(e.Name + " ended by itself, without a stop request")
	default:
		msg := fmt.Sprintf("%s failed with exit status %d", e.Name, code)
		if e.LastError != nil {
			if last := e.LastError(); last != "" {
				msg += ": " + last
			}
		}
		e.Log.Error(msg)
	}
}
