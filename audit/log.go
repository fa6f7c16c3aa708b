package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"imageshare/internal/appdir"
	"imageshare/internal/filelock"
	"imageshare/internal/private"
)

// ErrCardURI is returned by Record for an event that carries something that
// looks like an imageshare card URI, which would put the card's secret in
// the trail. The event is not written; a Security Alert saying so is.
var ErrCardURI = errors.New("audit event refused: it contains an imageshare card URI")

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit log is closed")

// Log appends events to an audit trail file. It is safe for concurrent use
// by several goroutines, and several processes may append to one file. A
// nil *Log records nothing.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// Open opens the trail at path for appending, creating its folder (0700)
// and the file (0600), private on Windows too (package private), if they
// do not exist. An existing file keeps its
// mode. If the file ends in a line torn by a crash, Open ends that line, so
// that the next event starts on a line of its own.
func Open(path string) (*Log, error) {
	if path == "" {
		return nil, errors.New("opening audit log: no path")
	}
	if err := private.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	f, err := private.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	l := &Log{f: f, path: path}
	if err := l.endTornLine(); err != nil {
		f.Close()
		return nil, fmt.Errorf("opening audit log %s: %w", path, err)
	}
	return l, nil
}

// endTornLine writes a newline if the file does not end with one.
func (l *Log) endTornLine() error {
	if err := filelock.Lock(l.f); err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	defer filelock.Unlock(l.f)
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if fi.Size() == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := l.f.ReadAt(last, fi.Size()-1); err != nil {
		return fmt.Errorf("reading its end: %w", err)
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := l.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("ending a torn line: %w", err)
	}
	return l.f.Sync()
}

// Path returns the file the log appends to.
func (l *Log) Path() string { return l.path }

// Record appends e as one line and syncs it to disk. An event without a
// time gets the current time. Record refuses an event that Validate
// refuses; one that carries a card URI is replaced by a Security Alert that
// says an event was refused, and Record returns ErrCardURI.
func (l *Log) Record(e Event) error {
	if l == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	line, err := encode(e)
	if errors.Is(err, ErrCardURI) {
		if sub, err := encode(recordRefused(e)); err == nil {
			l.append(sub) // the error that matters is the refusal
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("recording audit event %s: %w", e.EventID.Code, err)
	}
	return l.append(line)
}

// append writes line with a single write(2) on the O_APPEND file, under
// an exclusive lock (package filelock) so that appenders that share a file
// never interleave, even where O_APPEND is not atomic (NFS) or a write
// comes back short.
func (l *Log) append(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	if err := filelock.Lock(l.f); err != nil {
		return fmt.Errorf("locking audit log %s: %w", l.path, err)
	}
	_, werr := l.f.Write(line)
	uerr := filelock.Unlock(l.f)
	if werr != nil {
		return fmt.Errorf("writing audit log %s: %w", l.path, werr)
	}
	if uerr != nil {
		return fmt.Errorf("unlocking audit log %s: %w", l.path, uerr)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("syncing audit log %s: %w", l.path, err)
	}
	return nil
}

// Close closes the file. Record fails with ErrClosed afterwards.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// DefaultPath returns where program ("sender" or "receiver") keeps its
// trail: audit-<program>.jsonl in the user's state folder (package
// appdir), $XDG_STATE_HOME/imageshare or ~/.local/state/imageshare on
// Linux, %LOCALAPPDATA%\imageshare on Windows.
func DefaultPath(program string) (string, error) {
	if program == "" || strings.ContainsAny(program, `/\`) || program == "." || program == ".." {
		return "", fmt.Errorf("audit log: bad program name %q", program)
	}
	dir, err := appdir.State(appdir.User)
	if err != nil {
		return "", fmt.Errorf("audit log: %w", err)
	}
	return filepath.Join(dir, "audit-"+program+".jsonl"), nil
}

// encode validates e and returns it as one line of JSON, newline included.
func encode(e Event) ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if hasCardURI(b) {
		return nil, ErrCardURI
	}
	// Look again at every string once decoded, so that a value that
	// marshals itself with escapes (\u0049MAGESHARE) is caught too.
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if anyStringHasCardURI(v) {
		return nil, ErrCardURI
	}
	return append(b, '\n'), nil
}

// cardMarkers are the card scheme's prefix up to its version number, and
// the separator that follows the number, as written and percent-encoded, in
// lower case.
var cardMarkers = []struct{ prefix, sep []byte }{
	{[]byte("imageshare:v"), []byte(":")},
	{[]byte("imageshare%3av"), []byte("%3a")},
}

// hasCardURI reports whether b holds "IMAGESHARE:V<digits>:", in any case,
// or its percent-encoded form.
func hasCardURI(b []byte) bool {
	lower := bytes.ToLower(b)
	for _, m := range cardMarkers {
		rest := lower
		for {
			i := bytes.Index(rest, m.prefix)
			if i < 0 {
				break
			}
			rest = rest[i+len(m.prefix):]
			n := 0
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			if n > 0 && bytes.HasPrefix(rest[n:], m.sep) {
				return true
			}
		}
	}
	return false
}

func anyStringHasCardURI(v any) bool {
	switch v := v.(type) {
	case string:
		return hasCardURI([]byte(v))
	case []any:
		for _, x := range v {
			if anyStringHasCardURI(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if hasCardURI([]byte(k)) || anyStringHasCardURI(x) {
				return true
			}
		}
	}
	return false
}
