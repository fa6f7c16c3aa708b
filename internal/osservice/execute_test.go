package osservice

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a Logger that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Info(msg string)  { r.add("info: " + msg) }
func (r *recorder) Error(msg string) { r.add("error: " + msg) }
func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, s)
}

// harness runs an Execution whose command waits for its context to end,
// or for a code on exit, and then for release before it returns.
type harness struct {
	states   chan State
	requests chan Request
	exit     chan int      // the command ends by itself with this code
	release  chan struct{} // closed to let a stopped command return
	cause    chan error    // the cause of the command's context's end
	code     chan int      // Execute's result
	log      *recorder
}

func startExecution(t *testing.T, stopCode int, lastError string) *harness {
	t.Helper()
	h := &harness{
		states:   make(chan State, 16),
		requests: make(chan Request),
		exit:     make(chan int),
		release:  make(chan struct{}),
		cause:    make(chan error, 1),
		code:     make(chan int, 1),
		log:      &recorder{},
	}
	e := &Execution{
		Name: "imageshare-test",
		Run: func(ctx context.Context) int {
			select {
			case code := <-h.exit:
				return code
			case <-ctx.Done():
				h.cause <- context.Cause(ctx)
				<-h.release
				return stopCode
			}
		},
		Report:    func(s State) { h.states <- s },
		Log:       h.log,
		LastError: func() string { return lastError },
	}
	go func() { h.code <- e.Execute(context.Background(), h.requests) }()
	h.expect(t, StartPending, Running)
	return h
}

// expect reads the next states reported.
func (h *harness) expect(t *testing.T, want ...State) {
	t.Helper()
	for _, w := range want {
		if got := <-h.states; got != w {
			t.Fatalf("reported %v, want %v", got, w)
		}
	}
}

func (h *harness) noMoreStates(t *testing.T) {
	t.Helper()
	select {
	case s := <-h.states:
		t.Fatalf("reported %v after the end", s)
	default:
	}
}

func TestExecuteStop(t *testing.T) {
	for _, req := range []Request{StopRequest, Shutdown} {
		h := startExecution(t, 0, "")
		h.requests <- Interrogate
		h.expect(t, Running)
		h.requests <- Other
		h.expect(t, Running)
		h.requests <- req
		h.expect(t, StopPending)
		if cause := <-h.cause; !errors.Is(cause, ErrStopRequested) {
			t.Errorf("the command's context ended with %v", cause)
		}
		// While it stops, another stop changes nothing, and an
		// interrogation hears it is stopping.
		h.requests <- StopRequest
		h.requests <- Interrogate
		h.expect(t, StopPending)
		close(h.release)
		if code := <-h.code; code != 0 {
			t.Errorf("exit status %d after a stop", code)
		}
		h.expect(t, Stopped)
		h.noMoreStates(t)
		want := []string{"info: imageshare-test started", "info: imageshare-test stopped"}
		if !slices.Equal(h.log.msgs, want) {
			t.Errorf("logged %q, want %q", h.log.msgs, want)
		}
	}
}

func TestExecuteFailsWhileStopping(t *testing.T) {
	h := startExecution(t, 1, "sender: error: closing the spool: disk gone")
	h.requests <- StopRequest
	h.expect(t, StopPending)
	<-h.cause
	close(h.release)
	if code := <-h.code; code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	h.expect(t, Stopped)
	if last := h.log.msgs[len(h.log.msgs)-1]; last != "error: imageshare-test failed with exit status 1: sender: error: closing the spool: disk gone" {
		t.Errorf("logged %q", last)
	}
}

func TestExecuteCommandEnds(t *testing.T) {
	for _, tc := range []struct {
		code      int
		lastError string
		want      string
	}{
		{5, "sender: error: cannot listen on /ip4/0.0.0.0/tcp/7471", "error: imageshare-test failed with exit status 5: sender: error: cannot listen on /ip4/0.0.0.0/tcp/7471"},
		{1, "", "error: imageshare-test failed with exit status 1"},
		{0, "", "error: imageshare-test ended by itself, without a stop request"},
	} {
		h := startExecution(t, 0, tc.lastError)
		h.exit <- tc.code
		if code := <-h.code; code != tc.code {
			t.Errorf("exit status %d, want %d", code, tc.code)
		}
		h.expect(t, StopPending, Stopped)
		h.noMoreStates(t)
		if got := h.log.msgs; len(got) != 2 || got[1] != tc.want {
			t.Errorf("logged %q, want %q last", got, tc.want)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Stopped: "stopped", StartPending: "starting", Running: "running", StopPending: "stopping", State(9): "state 9"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
}

func TestInfoWrite(t *testing.T) {
	var b strings.Builder
	Info{State: Running, PID: 4242, CommandLine: `"C:\Program Files\imageshare\sender.exe" serve --service`, Automatic: true, Log: `C:\ProgramData\imageshare\logs\sender-serve.log`}.Write(&b, "imageshare-sender")
	want := `imageshare-sender: running (process 4242)
start:   automatic, when Windows starts
command: "C:\Program Files\imageshare\sender.exe" serve --service
log:     C:\ProgramData\imageshare\logs\sender-serve.log
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	Info{State: Stopped, ExitCode: 5}.Write(&b, "imageshare-relay")
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "imageshare-relay: stopped (last exit status 5: see the log)" {
		t.Errorf("got %q", first)
	}
	if !strings.Contains(b.String(), "start:   manual\n") {
		t.Errorf("got %q", b.String())
	}
}

func TestWaitFor(t *testing.T) {
	seq := []State{StopPending, StopPending, Stopped}
	i := 0
	query := func() (State, error) { s := seq[i]; i++; return s, nil }
	tick := make(chan struct{}, len(seq))
	for range seq {
		tick <- struct{}{}
	}
	if s, err := WaitFor(context.Background(), Stopped, query, tick); err != nil || s != Stopped || i != 3 {
		t.Errorf("WaitFor = %v, %v after %d queries", s, err, i)
	}

	// A query that fails ends the wait.
	boom := errors.New("boom")
	if _, err := WaitFor[struct{}](context.Background(), Stopped, func() (State, error) { return Running, boom }, nil); !errors.Is(err, boom) {
		t.Errorf("WaitFor = %v, want boom", err)
	}

	// The end of ctx ends it, with the cause.
	late := errors.New("did not stop within 30s")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(late)
	s, err := WaitFor(ctx, Stopped, func() (State, error) { return StopPending, nil }, make(chan struct{}))
	if !errors.Is(err, late) || s != StopPending || !strings.Contains(err.Error(), "still stopping") {
		t.Errorf("WaitFor = %v, %v", s, err)
	}
}
