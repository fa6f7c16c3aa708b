package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The multi-process test runs this test binary again as an appender.
const (
	helperPath   = "IMAGESHARE_AUDIT_HELPER_PATH"
	helperWriter = "IMAGESHARE_AUDIT_HELPER_WRITER"
	helperCount  = "IMAGESHARE_AUDIT_HELPER_COUNT"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(helperPath); path != "" {
		n, _ := strconv.Atoi(os.Getenv(helperCount))
		if err := appendEvents(path, os.Getenv(helperWriter), n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// padding makes each line far longer than a page and a pipe buffer, so
// that appenders that did interleave would show it.
var padding = strings.Repeat("0123456789abcdef", 6<<10) // 96 KiB

func numbered(writer string, seq int) Event {
	return InstancesSent(testSender, testPeer, testSubj).
		With("writer", writer).With("seq", seq).With("padding", padding)
}

func appendEvents(path, writer string, n int) error {
	l, err := Open(path)
	if err != nil {
		return err
	}
	for i := range n {
		if err := l.Record(numbered(writer, i)); err != nil {
			return err
		}
	}
	return l.Close()
}

func TestConcurrentAppendersNeverInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit-sender.jsonl")
	const (
		procs      = 3
		perProc    = 40
		logs       = 2 // *Log values on one path in this process
		goroutines = 4 // per *Log
		perG       = 15
	)
	// Create the file first, so that the children do not race to create it.
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(),
			helperPath+"="+path,
			helperWriter+"="+fmt.Sprintf("proc%d", p),
			helperCount+"="+strconv.Itoa(perProc))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if stderr.Len() > 0 {
				t.Logf("appender %d: %s", p, stderr.String())
			}
		})
	}

	var wg sync.WaitGroup
	errs := make(chan error, logs*goroutines)
	for i := range logs {
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for g := range goroutines {
			wg.Go(func() {
				writer := fmt.Sprintf("log%d-g%d", i, g)
				for s := range perG {
					if err := l.Record(numbered(writer, s)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("appender %d: %v", p, err)
		}
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]map[int]bool{}
	err = Read(f, func(e Event) error {
		if e.Detail["padding"] != padding {
			return errors.New("an event's padding came back altered")
		}
		w, _ := e.Detail["writer"].(string)
		s, _ := e.Detail["seq"].(float64)
		if seen[w] == nil {
			seen[w] = map[int]bool{}
		}
		if seen[w][int(s)] {
			return fmt.Errorf("%s %v twice", w, s)
		}
		seen[w][int(s)] = true
		return nil
	})
	if err != nil {
		t.Fatalf("reading the trail: %v", err)
	}
	want := map[string]int{}
	for p := range procs {
		want[fmt.Sprintf("proc%d", p)] = perProc
	}
	for i := range logs {
		for g := range goroutines {
			want[fmt.Sprintf("log%d-g%d", i, g)] = perG
		}
	}
	for w, n := range want {
		if len(seen[w]) != n {
			t.Errorf("%s: %d events read, want %d", w, len(seen[w]), n)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("writers %d, want %d", len(seen), len(want))
	}

	// Every line, not only those Read accepted, is one whole event.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	total := procs*perProc + logs*goroutines*perG
	if len(lines) != total {
		t.Errorf("%d lines, want %d", len(lines), total)
	}
	for i, line := range lines {
		if !json.Valid(line) {
			t.Fatalf("line %d is not JSON", i+1)
		}
	}
}

func TestOpenCreatesPrivateFileAndFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "imageshare")
	path := filepath.Join(dir, "audit-receiver.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Record(ApplicationStart(testRecv)); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Dir(dir): 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	if l.Path() != path {
		t.Errorf("Path = %q", l.Path())
	}
}

func TestOpenAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for range 2 {
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Record(ApplicationStart(testSender)); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	if n := countEvents(t, path); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func TestOpenRefusesFolder(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open accepted a folder")
	}
	if _, err := Open(""); err == nil {
		t.Error("Open accepted no path")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := Export(testSender, testSubj).With("path", "direct").With("expires", "2026-03-04T13:02:11Z")
	want.Time = time.Date(2026, 3, 1, 14, 2, 11, 123456789, time.FixedZone("CET", 3600))
	if err := l.Record(want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(`{"time":"2026-03-01T13:02:11.123456Z","event_id":{"code":"110106","scheme":"DCM","meaning":"Export"},"action":"R","outcome":0,`)) {
		t.Errorf("line starts %s", b[:min(len(b), 160)])
	}
	var got Event
	if err := Read(bytes.NewReader(b), func(e Event) error { got = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(want.Time.Truncate(time.Microsecond)) {
		t.Errorf("time %v, want %v", got.Time, want.Time)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("read back\n%s\nwant\n%s", gb, wb)
	}
}

func TestRecordFillsTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e := ApplicationStart(testSender)
	e.Time = time.Time{}
	if err := l.Record(e); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	Read(f, func(e Event) error {
		if time.Since(e.Time) > time.Minute || e.Time.IsZero() {
			t.Errorf("time %v", e.Time)
		}
		return nil
	})
}

func TestRecordRefusesInvalidAndWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Record(SecurityAlert("fire", testSender, testPeer, "", "smoke")); err == nil {
		t.Error("Record accepted an unknown alert")
	}
	if err := l.Record(Export(testSender, testSubj).With("bad", make(chan int))); err == nil {
		t.Error("Record accepted a detail that does not marshal")
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Errorf("%d bytes written", fi.Size())
	}
}

func TestNilAndClosedLog(t *testing.T) {
	var l *Log
	if err := l.Record(ApplicationStart(testSender)); err != nil {
		t.Errorf("nil Log: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("nil Log: %v", err)
	}
	l, err := Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Record(ApplicationStop(testSender)); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v, want ErrClosed", err)
	}
}

func lineOf(t *testing.T, e Event) string {
	t.Helper()
	b, err := encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readAll(t *testing.T, r io.Reader) ([]Event, error) {
	t.Helper()
	var evs []Event
	err := Read(r, func(e Event) error { evs = append(evs, e); return nil })
	return evs, err
}

func countEvents(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := readAll(t, f)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestReadToleratesTornLastLine(t *testing.T) {
	a, b := lineOf(t, ApplicationStart(testSender)), lineOf(t, Export(testSender, testSubj))
	for _, torn := range []string{
		"", // no torn line at all
		b[:1],
		b[:len(b)/2],
		b[:len(b)-2],       // all but the closing brace and newline
		"\x00\x00\x00\x00", // a tail of zeros after a power cut
	} {
		evs, err := readAll(t, strings.NewReader(a+b+torn))
		if err != nil {
			t.Errorf("torn %q: %v", torn, err)
		}
		if len(evs) != 2 {
			t.Errorf("torn %q: %d events, want 2", torn, len(evs))
		}
	}
	// A whole last event without its newline still counts.
	evs, err := readAll(t, strings.NewReader(a+strings.TrimSuffix(b, "\n")))
	if err != nil || len(evs) != 2 {
		t.Errorf("last line without newline: %d events, %v", len(evs), err)
	}
}

func TestReadReportsBadLinesAndGoesOn(t *testing.T) {
	a, b := lineOf(t, ApplicationStart(testSender)), lineOf(t, Export(testSender, testSubj))
	input := a + "\n" + `{"time":"2026-03-01T13:02:11Z","event_id":{"co` + "\n" + b + `{"hello":"world"}` + "\n" + a + strings.Repeat("x", MaxLineSize+10) + "\n" + b
	evs, err := readAll(t, strings.NewReader(input))
	if len(evs) != 4 {
		t.Errorf("%d events, want 4", len(evs))
	}
	var lines []int
	for _, e := range splitJoined(err) {
		var le *LineError
		if !errors.As(e, &le) {
			t.Fatalf("not a LineError: %v", e)
		}
		lines = append(lines, le.Line)
	}
	if fmt.Sprint(lines) != "[3 5 7]" {
		t.Errorf("bad lines %v, want [3 5 7]; error: %v", lines, err)
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || !strings.Contains(err.Error(), "audit log line 3") {
		t.Errorf("error = %v", err)
	}
	if strings.Contains(err.Error(), "hello") {
		t.Errorf("the error quotes the line: %v", err)
	}
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	a := lineOf(t, ApplicationStart(testSender))
	stop := errors.New("stop")
	n := 0
	err := Read(strings.NewReader(a+a+a), func(Event) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Read = %v after %d events, want stop after 1", err, n)
	}
}

func TestOpenEndsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, b := lineOf(t, ApplicationStart(testSender)), lineOf(t, Export(testSender, testSubj))
	if err := os.WriteFile(path, []byte(a+b[:len(b)/2]), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ApplicationStop(testSender)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	f, _ := os.Open(path)
	defer f.Close()
	evs, err := readAll(t, f)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 {
		t.Errorf("error = %v, want line 2", err)
	}
	if len(evs) != 2 || evs[1].EventType == nil || evs[1].EventType.Code != "110121" {
		t.Errorf("events %+v, want start and stop", evs)
	}
}

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", "/var/lib/state")
	if p, err := DefaultPath("sender"); err != nil || p != "/var/lib/state/imageshare/audit-sender.jsonl" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
	for _, xdg := range []string{"", "relative/state"} {
		t.Setenv("XDG_STATE_HOME", xdg)
		want := filepath.Join(home, ".local", "state", "imageshare", "audit-receiver.jsonl")
		if p, err := DefaultPath("receiver"); err != nil || p != want {
			t.Errorf("XDG_STATE_HOME=%q: DefaultPath = %q, %v; want %q", xdg, p, err, want)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b"} {
		if _, err := DefaultPath(bad); err == nil {
			t.Errorf("DefaultPath(%q) accepted it", bad)
		}
	}
}
