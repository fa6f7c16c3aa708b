package osservice

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultMaxLogSize is the size at which a service's log file is rotated:
// the file becomes NAME.1 (replacing the previous one) and a new file
// starts. At most twice this size is kept.
const DefaultMaxLogSize = 10 << 20

// LogFile is a service's log: each line it is given is written with the
// time in front (UTC, RFC 3339), to a file that is rotated at a size. It
// is safe for concurrent use, since a command's printer and its libraries
// may write at once. It remembers the last line that reports an error, for
// the Event Log.
type LogFile struct {
	path    string
	max     int64
	now     func() time.Time
	mu      sync.Mutex
	f       *os.File
	size    int64
	partial []byte
	lastErr string
}

// LogOptions are for tests.
type LogOptions struct {
	MaxSize int64            // DefaultMaxLogSize when 0
	Now     func() time.Time // time.Now when nil
}

// OpenLog opens the log file at path for appending, making its folder if
// need be.
func OpenLog(path string, o LogOptions) (*LogFile, error) {
	l := &LogFile{path: path, max: o.MaxSize, now: o.Now}
	if l.max <= 0 {
		l.max = DefaultMaxLogSize
	}
	if l.now == nil {
		l.now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("making the log folder: %w", err)
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("opening the log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening the log: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// rotate closes the file, moves it to NAME.1, and starts a new one. The
// file is closed first: Windows renames no open file.
func (l *LogFile) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotating the log: %w", err)
	}
	old := l.path + ".1"
	os.Remove(old)
	if err := os.Rename(l.path, old); err != nil {
		// Carry on in the same file rather than lose the lines.
		if err2 := l.open(); err2 != nil {
			return err2
		}
		return fmt.Errorf("rotating the log: %w", err)
	}
	return l.open()
}

// Write writes each complete line of p with the time in front; a line
// without its newline waits for the rest. It reports len(p) written
// unless the file fails.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if err := l.writeLine(string(l.partial[:i])); err != nil {
			return 0, err
		}
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) == 0 {
		l.partial = nil
	}
	return len(p), nil
}

func (l *LogFile) writeLine(line string) error {
	line = strings.TrimSuffix(line, "\r")
	if strings.Contains(line, ": error: ") {
		l.lastErr = line
	}
	s := l.now().UTC().Format(time.RFC3339) + " " + line + "\n"
	if l.size > 0 && l.size+int64(len(s)) > l.max {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.WriteString(s)
	l.size += int64(n)
	return err
}

// LastError is the last line written that reports an error ("sender:
// error: ..."), or "".
func (l *LogFile) LastError() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// Close writes a last line that lacks its newline, and closes the file.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	var err error
	if len(l.partial) > 0 {
		err = l.writeLine(string(l.partial))
		l.partial = nil
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
