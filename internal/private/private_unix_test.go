//go:build !windows

package private

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func unixOnly(t *testing.T) {
	// The modes asked for are the modes made, whatever the umask.
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestMkdirAll(t *testing.T) {
	unixOnly(t)
	base := t.TempDir()
	shared := filepath.Join(base, "shared")
	if err := os.Mkdir(shared, 0o770); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(shared, "imageshare", "spool", "offers")
	if err := MkdirAll(spool); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"imageshare", "imageshare/spool", "imageshare/spool/offers"} {
		if m := mode(t, filepath.Join(shared, d)); m != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", d, m)
		}
	}
	if m := mode(t, shared); m != 0o770 {
		t.Errorf("an existing folder's mode changed to %04o", m)
	}
	if err := MkdirAll(spool); err != nil {
		t.Errorf("again: %v", err)
	}
}

func TestOpenFile(t *testing.T) {
	unixOnly(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "audit.jsonl")
	f, err := OpenFile(name, os.O_RDWR|os.O_APPEND|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("one\n")
	f.Close()
	if m := mode(t, name); m != 0o600 {
		t.Errorf("new file: mode %04o, want 0600", m)
	}
	// An existing file is opened, appended to, and keeps its mode.
	if err := os.Chmod(name, 0o640); err != nil {
		t.Fatal(err)
	}
	f, err = OpenFile(name, os.O_RDWR|os.O_APPEND|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("two\n")
	f.Close()
	if b, _ := os.ReadFile(name); string(b) != "one\ntwo\n" {
		t.Errorf("content %q", b)
	}
	if m := mode(t, name); m != 0o640 {
		t.Errorf("existing file: mode %04o, want it kept (0640)", m)
	}
	if _, err := OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL); !errors.Is(err, os.ErrExist) {
		t.Errorf("O_EXCL on an existing file: %v", err)
	}
}

func TestCheck(t *testing.T) {
	unixOnly(t)
	name := filepath.Join(t.TempDir(), "relay key")
	if err := os.WriteFile(name, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o700, true}, {0o640, false}, {0o604, false}, {0o644, false}, {0o660, false}} {
		if err := os.Chmod(name, tc.mode); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(f)
		f.Close()
		var ex *ExposedError
		switch {
		case tc.ok && err != nil:
			t.Errorf("mode %04o: %v", tc.mode, err)
		case !tc.ok && !errors.As(err, &ex):
			t.Errorf("mode %04o: %v, want an *ExposedError", tc.mode, err)
		case !tc.ok:
			if want := fmt.Sprintf("has mode %04o", tc.mode); ex.Why != want || ex.Fix != "chmod 600 '"+name+"'" {
				t.Errorf("mode %04o: why %q, fix %q; want %q", tc.mode, ex.Why, ex.Fix, want)
			}
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/imageshare-relay/relay.key": "/var/lib/imageshare-relay/relay.key",
		"/home/a b/key":                       "'/home/a b/key'",
		"/tmp/it's":                           `'/tmp/it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
