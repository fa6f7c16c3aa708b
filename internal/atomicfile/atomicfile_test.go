package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentWriters: writers of one name never share a temporary file,
// so the name always holds one writer's whole data, and no temporary file
// is left behind.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "offer.json")
	const writers, rounds = 8, 50
	want := map[string]bool{}
	for w := range writers {
		want[string(payload(w))] = true
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err == nil && !want[string(b)] {
				err = fmt.Errorf("read %d bytes that no writer wrote whole", len(b))
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	for w := range writers {
		wg.Go(func() {
			for range rounds {
				if err := Write(name, payload(w), 0o600); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone
	if readErr != nil {
		t.Fatal(readErr)
	}
	b, err := os.ReadFile(name)
	if err != nil || !want[string(b)] {
		t.Fatalf("final content: %d bytes, %v", len(b), err)
	}
	if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	onlyName(t, dir, "offer.json")
}

// TestCreateFirstWins: of writers racing to create one name, exactly one
// succeeds, the others are told it exists, and the name holds the
// winner's data.
func TestCreateFirstWins(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "identity.key")
	const writers = 16
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { errs[w] = Create(name, payload(w), 0o600) })
	}
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created %s", winner, w, name)
		case err == nil:
			winner = w
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("writer %d: %v, want fs.ErrExist", w, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the file")
	}
	if b, err := os.ReadFile(name); err != nil || !bytes.Equal(b, payload(winner)) {
		t.Errorf("holds %d bytes, %v; want the winner's", len(b), err)
	}
	onlyName(t, dir, "identity.key")
}

func TestWriteNoFolder(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("wrote into a folder that does not exist")
	}
}

// payload is writer w's data: large enough that a torn write would show.
func payload(w int) []byte {
	return bytes.Repeat([]byte{byte('a' + w)}, 64<<10+w)
}

func onlyName(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %q, want only %s", names, name)
	}
}

// A fill that fails part way leaves the old content, and no temporary
// file, behind.
func TestWriteFromFails(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "copy.dcm")
	if err := Write(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("truncated")
	err := WriteFrom(name, 0o600, func(w io.Writer) error {
		w.Write(payload(1))
		return broken
	})
	if err != broken {
		t.Fatalf("WriteFrom = %v, want the fill's error as it is", err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "old" {
		t.Errorf("holds %q, %v; want the old content", b, err)
	}
	onlyName(t, dir, "copy.dcm")
	if err := WriteFrom(name, 0o600, func(w io.Writer) error { _, err := w.Write(payload(2)); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); !bytes.Equal(b, payload(2)) {
		t.Errorf("holds %d bytes, want the new content", len(b))
	}
	onlyName(t, dir, "copy.dcm")
}
