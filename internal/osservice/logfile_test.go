package osservice

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func fixedClock() time.Time { return time.Date(2026, 12, 7, 11, 30, 0, 0, time.FixedZone("CET", 3600)) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogFileLines(t *testing.T) {
	path := LogPath(filepath.Join(t.TempDir(), "imageshare"), "sender-serve.log")
	l, err := OpenLog(path, LogOptions{Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(l, "sender: listening on /ip4/10.0.0.5/tcp/7471\nsender: half ")
	fmt.Fprint(l, "a line\r\n")
	fmt.Fprint(l, "sender: error: cannot listen on /ip4/0.0.0.0/udp/7471/quic-v1\nno newline at the end")
	if got := l.LastError(); got != "sender: error: cannot listen on /ip4/0.0.0.0/udp/7471/quic-v1" {
		t.Errorf("LastError = %q", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := `2026-12-07T10:30:00Z sender: listening on /ip4/10.0.0.5/tcp/7471
2026-12-07T10:30:00Z sender: half a line
2026-12-07T10:30:00Z sender: error: cannot listen on /ip4/0.0.0.0/udp/7471/quic-v1
2026-12-07T10:30:00Z no newline at the end
`
	if got := readFile(t, path); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
	if _, err := l.Write([]byte("x\n")); err == nil {
		t.Error("Write after Close succeeded")
	}

	// A restarted service appends.
	l, err = OpenLog(path, LogOptions{Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(l, "again")
	l.Close()
	if got := readFile(t, path); got != want+"2026-12-07T10:30:00Z again\n" {
		t.Errorf("log after a restart:\n%s", got)
	}
}

func TestLogFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.log")
	line := "relay: reservation granted\n"
	stamped := int64(len("2026-12-07T10:30:00Z ") + len(line))
	// Room for 3 lines exactly: the 4th rotates.
	l, err := OpenLog(path, LogOptions{Now: fixedClock, MaxSize: 3 * stamped})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	count := func(p string) int {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	for i, want := range []struct{ cur, old int }{{1, 0}, {2, 0}, {3, 0}, {1, 3}, {2, 3}, {3, 3}, {1, 3}} {
		fmt.Fprint(l, line)
		if c, o := count(path), count(path+".1"); c != want.cur || o != want.old {
			t.Fatalf("after line %d: %d lines, %d in .1; want %d, %d", i+1, c, o, want.cur, want.old)
		}
	}

	// A line longer than the limit is written whole, in a file of its own.
	fmt.Fprintln(l, strings.Repeat("x", int(4*stamped)))
	if c := count(path); c != 1 {
		t.Errorf("a long line: %d lines in the file, want 1", c)
	}
}

func TestLogFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sender-serve.log")
	l, err := OpenLog(path, LogOptions{Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				fmt.Fprintf(l, "writer %d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	l.Close()
	lines := strings.Split(strings.TrimSuffix(readFile(t, path), "\n"), "\n")
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	for _, s := range lines {
		if !strings.HasPrefix(s, "2026-12-07T10:30:00Z writer ") {
			t.Fatalf("mangled line %q", s)
		}
	}
}

func TestOpenLogFails(t *testing.T) {
	dir := t.TempDir()
	// The log's folder is a file.
	if err := os.WriteFile(filepath.Join(dir, "logs"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLog(LogPath(dir, "x.log"), LogOptions{}); err == nil {
		t.Error("OpenLog under a file succeeded")
	}
}
