// Package console is how the commands talk to people and scripts: progress
// bars on a terminal only, JSON Lines for scripts, questions that need a
// terminal, and the build's version.
package console

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// JSON writes JSON Lines, one object a line, safe for concurrent use.
// A nil *JSON writes nothing.
type JSON struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSON returns a JSON Lines writer to w.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w} }

// Event is what the sessions (package receive and package send) report: a
// struct whose JSON is the event's fields, named by EventType.
type Event interface {
	EventType() string
}

// Emit writes the event e as one line, its fields and "type":
// e.EventType() (MarshalEvent). A field named "type" is not allowed.
func (j *JSON) Emit(e Event) {
	if j == nil {
		return
	}
	b, err := MarshalEvent(e)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"type": "error", "message": err.Error()})
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.w.Write(append(b, '\n'))
}

// MarshalEvent returns the line --json writes for e: its fields and its
// "type", with the keys in sorted order, as the commands wrote them before
// their events were typed, so that a script's patterns still match.
func MarshalEvent(e Event) ([]byte, error) {
	fields, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(fields, &m); err != nil || m == nil {
		return nil, fmt.Errorf("event %s is not a JSON object", e.EventType())
	}
	if _, ok := m["type"]; ok {
		return nil, fmt.Errorf("event %s has a field named type", e.EventType())
	}
	if m["type"], err = json.Marshal(e.EventType()); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// Progress is a progress bar: bytes (or files), rate and time left. It
// draws only when its writer is a terminal and it is enabled. A nil
// *Progress does nothing.
type Progress struct {
	bar *progressbar.ProgressBar
}

// NewProgress returns a bar for total bytes, drawn on w when enabled and w
// is a terminal that interprets escape sequences (EnableVT): elsewhere the
// caller's plain lines say what happens.
func NewProgress(w io.Writer, total int64, description string, enabled bool) *Progress {
	if !enabled || !EnableVT(w) {
		return nil
	}
	return &Progress{bar: newBar(w, total, description, "")}
}

// NewCounter returns a bar for a total number of things, such as files,
// named by unit ("files") in its count and rate, drawn on w as
// NewProgress's.
func NewCounter(w io.Writer, total int64, description, unit string, enabled bool) *Progress {
	if !enabled || !EnableVT(w) {
		return nil
	}
	return &Progress{bar: newBar(w, total, description, unit)}
}

// newBar draws a bar on w: of bytes if unit is "", else of unit.
func newBar(w io.Writer, total int64, description, unit string) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		progressbar.OptionUseANSICodes(true),
	}
	if unit == "" {
		opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionUseIECUnits(true))
	} else {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
	}
	return progressbar.NewOptions64(total, opts...)
}

// Add counts n more bytes (or things).
func (p *Progress) Add(n int64) {
	if p != nil {
		p.bar.Add64(n)
	}
}

// Set sets the count.
func (p *Progress) Set(n int64) {
	if p != nil {
		p.bar.Set64(n)
	}
}

// Finish completes the bar.
func (p *Progress) Finish() {
	if p != nil {
		p.bar.Finish()
	}
}

// Clear erases the bar so that a message can be printed in its place.
func (p *Progress) Clear() {
	if p != nil {
		p.bar.Clear()
	}
}

// Confirm asks question on out and reads a yes or no from in. Anything but
// yes is no.
func Confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// version and commit are set at link time by make dist (scripts/dist.sh):
//
//	-ldflags "-X imageshare/console.version=$(git describe --tags --always --dirty) -X imageshare/console.commit=$(git rev-parse HEAD)"
//
// A plain go build leaves them empty, and Version falls back on what the
// build info says.
var version, commit string

// Version is the version the binary was built from, the commit and the Go
// release: "v1.2.0 (commit 0123456789ab) go1.26.1". make dist sets the
// version from git describe (which ends in -dirty for a changed work tree)
// and the commit; otherwise they are the module's version and the commit
// go build recorded (vcs.revision, and ", modified" for vcs.modified).
func Version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionString(version, commit, bi)
}

// versionString builds Version's text from the link-time version and
// commit and the build info bi (nil when there is none).
func versionString(version, commit string, bi *debug.BuildInfo) string {
	goVersion := runtime.Version()
	modified := false
	if bi != nil {
		goVersion = bi.GoVersion
		if version == "" {
			version = bi.Main.Version
		}
		if commit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
		}
	}
	if version == "" {
		version = "unknown"
	}
	v := version
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if modified {
			commit += ", modified"
		}
		v += " (commit " + commit + ")"
	}
	return v + " " + goVersion
}
