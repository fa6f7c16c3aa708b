package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Trail records audit events in the background, in order, so that a
// libp2p callback never waits for a disk sync: Record never blocks on the
// disk. Close drains it.
//
// A peer can cause a failure once a stream, thousands a second, so
// failures are counted by Repeats: the first of a kind from a peer in
// a minute is written, its repeats are written as one summary when the
// minute ends, when the application stops, or on Close. Events waiting for
// the disk are of two sorts. Failures written one by one wait in a queue of
// maxQueuedFailures; beyond it a failure is counted into its summary
// instead, so a stalled disk costs lines, never counts. Every other event
// (start and stop, exports, transfers, imports) waits however long the disk
// takes: no peer can cause one without the card, so they are few, and a
// hospital's record of who received which patient is not dropped.
type Trail struct {
	log    *Log
	rec    recorder // log, or what a test wraps it in
	now    func() time.Time
	stderr io.Writer
	prog   string

	mu      sync.Mutex
	queue   []Event // waiting for the disk, in order
	failing int     // Aggregated events in queue
	repeats *Repeats
	closed  bool

	wake chan struct{} // a token when queue grew or the trail closed
	tick <-chan time.Time
	done chan struct{}
}

// maxQueuedFailures caps the failures that wait for the disk.
const maxQueuedFailures = 64

// OpenTrail opens the audit trail at path (the program's default when
// empty). A trail that cannot be opened is an error: a hospital's
// transfers are audited or not made.
func OpenTrail(program, path string, stderr io.Writer) (*Trail, error) {
	return openTrail(program, path, stderr, trailOptions{})
}

// recorder writes one event: a *Log.
type recorder interface {
	Record(Event) error
}

// trailOptions are for tests.
type trailOptions struct {
	wrap     func(recorder) recorder // wraps the log, to stall or watch writes
	now      func() time.Time        // time.Now
	tick     <-chan time.Time        // when to write the summaries due; a ticker by default
	interval time.Duration           // RepeatInterval
}

func openTrail(program, path string, stderr io.Writer, o trailOptions) (*Trail, error) {
	if path == "" {
		var err error
		if path, err = DefaultPath(program); err != nil {
			return nil, fmt.Errorf("finding the audit trail: %w (give one with --audit FILE)", err)
		}
	}
	l, err := Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the audit trail %s: %w (give another with --audit FILE)", path, err)
	}
	t := &Trail{log: l, rec: l, now: o.now, stderr: stderr, prog: program,
		repeats: NewRepeats(o.interval), wake: make(chan struct{}, 1), tick: o.tick, done: make(chan struct{})}
	if o.wrap != nil {
		t.rec = o.wrap(l)
	}
	if t.now == nil {
		t.now = time.Now
	}
	var stop func()
	if t.tick == nil {
		interval := o.interval
		if interval <= 0 {
			interval = RepeatInterval
		}
		// A summary is written at most a tick after its interval ends.
		tk := time.NewTicker(interval / 4)
		t.tick, stop = tk.C, tk.Stop
	}
	go t.run(stop)
	return t, nil
}

// run writes what is queued, then the summaries that are due, until the
// trail is closed.
func (t *Trail) run(stop func()) {
	defer close(t.done)
	if stop != nil {
		defer stop()
	}
	for {
		select {
		case <-t.wake:
		case <-t.tick:
		}
		t.mu.Lock()
		batch, closed := t.queue, t.closed
		t.queue, t.failing = nil, 0
		if closed {
			batch = append(batch, t.repeats.Flush()...)
		} else {
			batch = append(batch, t.repeats.Due(t.now())...)
		}
		t.mu.Unlock()
		for _, e := range batch {
			if err := t.rec.Record(e); err != nil {
				fmt.Fprintf(t.stderr, "%s: warning: audit trail %s: %v\n", t.prog, t.log.Path(), err)
			}
		}
		if closed {
			return
		}
	}
}

// Record queues e, or counts it if it repeats a failure already written;
// it never waits for the disk. A nil Trail records nothing, nor does a
// closed one.
func (t *Trail) Record(e Event) {
	if t == nil {
		return
	}
	now := t.now()
	if e.Time.IsZero() {
		e.Time = now
	}
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		fmt.Fprintf(t.stderr, "%s: warning: audit trail %s: an event after the trail was closed: %s\n", t.prog, t.log.Path(), e.EventID.Meaning)
		return
	case !e.Aggregated():
		if e.IsApplicationStop() {
			// The summaries of what happened while it ran, before it stops.
			t.queue = append(t.queue, t.repeats.Flush()...)
		}
		t.queue = append(t.queue, e)
	case !t.repeats.Add(e, now):
		// counted
	case t.failing < maxQueuedFailures:
		t.queue = append(t.queue, e)
		t.failing++
	default:
		t.repeats.Missed(e, now)
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default: // the writer has a token already
	}
}

// Close writes what is queued and every summary, and closes the file.
func (t *Trail) Close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.done
		return
	}
	t.closed = true
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	<-t.done
	t.log.Close()
}

// PrintTrail prints the audit trail at path (the program's default when
// empty), one line an event, or the events as they are with asJSON.
func PrintTrail(program, path string, asJSON bool, stdout, stderr io.Writer) error {
	if path == "" {
		var err error
		if path, err = DefaultPath(program); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	defer f.Close()
	enc := json.NewEncoder(stdout) // JSON Lines, as console.JSON writes them
	err = Read(f, func(e Event) error {
		if asJSON {
			return enc.Encode(e)
		}
		return WriteText(stdout, e)
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", program, err)
	}
	return nil
}
