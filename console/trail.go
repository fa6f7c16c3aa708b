package console

import (
	"fmt"
	"io"
	"os"

	"imageshare/audit"
)

// Trail records audit events in the background, in order, so that a
// libp2p callback never waits for a disk sync. Close drains it.
type Trail struct {
	log    *audit.Log
	rec    recorder // log, or what a test wraps it in
	ch     chan audit.Event
	done   chan struct{}
	stderr io.Writer
	prog   string
}

// OpenTrail opens the audit trail at path (the program's default when
// empty). A trail that cannot be opened is an error: a hospital's
// transfers are audited or not made.
func OpenTrail(program, path string, stderr io.Writer) (*Trail, error) {
	return openTrail(program, path, stderr, trailOptions{})
}

// recorder writes one event: an *audit.Log.
type recorder interface {
	Record(audit.Event) error
}

// trailOptions are for tests.
type trailOptions struct {
	wrap func(recorder) recorder // wraps the log, to stall or watch writes
}

func openTrail(program, path string, stderr io.Writer, o trailOptions) (*Trail, error) {
	if path == "" {
		var err error
		if path, err = audit.DefaultPath(program); err != nil {
			return nil, fmt.Errorf("finding the audit trail: %w (give one with --audit FILE)", err)
		}
	}
	l, err := audit.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the audit trail %s: %w (give another with --audit FILE)", path, err)
	}
	t := &Trail{log: l, rec: l, ch: make(chan audit.Event, 1024), done: make(chan struct{}), stderr: stderr, prog: program}
	if o.wrap != nil {
		t.rec = o.wrap(l)
	}
	go t.run()
	return t, nil
}

func (t *Trail) run() {
	defer close(t.done)
	for e := range t.ch {
		if err := t.rec.Record(e); err != nil {
			fmt.Fprintf(t.stderr, "%s: warning: audit trail %s: %v\n", t.prog, t.log.Path(), err)
		}
	}
}

// Record queues e. A nil Trail records nothing.
func (t *Trail) Record(e audit.Event) {
	if t == nil {
		return
	}
	t.ch <- e
}

// Close writes what is queued and closes the file.
func (t *Trail) Close() {
	if t == nil {
		return
	}
	close(t.ch)
	<-t.done
	t.log.Close()
}

// PrintTrail prints the audit trail at path (the program's default when
// empty), one line an event, or the events as they are with asJSON.
func PrintTrail(program, path string, asJSON bool, stdout, stderr io.Writer) error {
	if path == "" {
		var err error
		if path, err = audit.DefaultPath(program); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	defer f.Close()
	js := NewJSON(stdout)
	err = audit.Read(f, func(e audit.Event) error {
		if asJSON {
			js.Emit(e)
			return nil
		}
		return audit.WriteText(stdout, e)
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", program, err)
	}
	return nil
}
