package filelock

import (
	"os"
	"path/filepath"
	"testing"
)

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestTwoOpens: two opens of one file exclude each other, in one process
// too, until the first unlocks or closes.
func TestTwoOpens(t *testing.T) {
	name := filepath.Join(t.TempDir(), "serve.lock")
	a, b := open(t, name), open(t, name)
	if held, err := TryLock(a); held || err != nil {
		t.Fatalf("first TryLock: held %v, %v", held, err)
	}
	if held, err := TryLock(b); !held || err != nil {
		t.Fatalf("second TryLock while the first holds it: held %v, %v", held, err)
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if held, err := TryLock(b); held || err != nil {
		t.Fatalf("TryLock after Unlock: held %v, %v", held, err)
	}
	// Closing the file drops its lock.
	b.Close()
	if held, err := TryLock(a); held || err != nil {
		t.Fatalf("TryLock after the holder closed: held %v, %v", held, err)
	}
}

// TestLockWaits: Lock returns once the holder unlocks.
func TestLockWaits(t *testing.T) {
	name := filepath.Join(t.TempDir(), "audit.jsonl")
	a, b := open(t, name), open(t, name)
	if err := Lock(a); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- Lock(b) }()
	if held, err := TryLock(open(t, name)); !held || err != nil {
		t.Fatalf("a third open got the lock: held %v, %v", held, err)
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDataStaysReadable: the lock does not keep others from the data (on
// Windows, where locks are mandatory, it is on a byte beyond the end).
func TestDataStaysReadable(t *testing.T) {
	name := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(name, []byte("line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := open(t, name)
	if err := Lock(a); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "line\n" {
		t.Fatalf("reading a locked file: %q, %v", b, err)
	}
	if fi, err := a.Stat(); err != nil || fi.Size() != 5 {
		t.Fatalf("the lock changed the file: %v, %v", fi, err)
	}
}
