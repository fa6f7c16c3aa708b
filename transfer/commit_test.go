package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// finishedStore fetches the fixture's study whole into a folder claimed
// under parent, and returns its store, Finish done, not yet committed.
func finishedStore(t *testing.T, fx *fixture, parent string) *Store {
	t.Helper()
	c := fx.client(t)
	m, err := c.Manifest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ClaimFolder(parent, "study", fx.offer.ManifestHash)
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := c.Fetch(t.Context(), m, all(len(m.Chunks)), st.Put, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestCommitRefusesWhatIsInTheWay: a file or folder made where the study
// goes, after its name was chosen, is neither replaced nor merged with,
// on any system (Linux would replace an empty folder, Windows would not):
// Commit refuses, naming it and saying what to do, and the study stays
// whole in the incoming folder, where the same command resumes it.
func TestCommitRefusesWhatIsInTheWay(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	for name, mk := range map[string]func(p string) error{
		"empty folder":    func(p string) error { return os.Mkdir(p, 0o755) },
		"folder of files": func(p string) error { return os.MkdirAll(filepath.Join(p, "x"), 0o755) },
		"file":            func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			st := finishedStore(t, fx, parent)
			incoming := st.Dir()
			final := filepath.Join(parent, "study")
			if err := mk(final); err != nil {
				t.Fatal(err)
			}
			got, err := st.Commit()
			if !errors.Is(err, ErrDisk) || !strings.Contains(err.Error(), final+" is in the way") || !strings.Contains(err.Error(), "move it away") {
				t.Fatalf("Commit: %q, %v; want it refused, naming %s", got, err, final)
			}
			if st.Dir() != incoming {
				t.Errorf("Dir %s after a refused Commit, want %s", st.Dir(), incoming)
			}
			checkReceived(t, incoming, fx.data)
			// Moved away, the same command commits it.
			if err := os.RemoveAll(final); err != nil {
				t.Fatal(err)
			}
			st.Close()
			dir, err := ClaimFolder(parent, "study", fx.offer.ManifestHash)
			if err != nil || dir != incoming {
				t.Fatalf("claimed %s (%v), want %s", dir, err, incoming)
			}
			again, err := OpenStore(dir, st.Manifest())
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			if _, err := again.Resume(); err != nil {
				t.Fatal(err)
			}
			if err := again.Finish(); err != nil {
				t.Fatal(err)
			}
			if got, err := again.Commit(); err != nil || got != final {
				t.Fatalf("Commit again: %s, %v; want %s", got, err, final)
			}
			checkReceived(t, final, fx.data)
		})
	}
}

// TestCommitAfterAnotherReceiver: a study that another receiver of the
// same card moved into place first is committed where it is.
func TestCommitAfterAnotherReceiver(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	parent := t.TempDir()
	st := finishedStore(t, fx, parent)
	final := filepath.Join(parent, "study")
	if err := os.Rename(st.Dir(), final); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Commit(); err != nil || got != final || st.Dir() != final {
		t.Fatalf("Commit: %s (Dir %s), %v; want %s", got, st.Dir(), err, final)
	}
	checkReceived(t, final, fx.data)
}

// TestFinishReleasesTheFolder: once whole, the folder is unlocked and
// closed (Windows can move a folder only when nothing in it is open, be
// it to commit the study or to quarantine it), so a receiver of the same
// card can open it at once; a second Finish changes nothing.
func TestFinishReleasesTheFolder(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	parent := t.TempDir()
	st := finishedStore(t, fx, parent)
	other, err := OpenStore(st.Dir(), st.Manifest())
	if err != nil {
		t.Fatalf("opening the finished study while its store is open: %v", err)
	}
	if _, err := other.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := other.Finish(); err != nil {
		t.Fatalf("the second store did not find the study whole: %v", err)
	}
	other.Close()
	if err := st.Finish(); err != nil {
		t.Fatalf("second Finish: %v", err)
	}
	moved := filepath.Join(parent, "quarantined")
	if err := os.Rename(st.Dir(), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, st.Dir()); err != nil {
		t.Fatal(err)
	}
	final, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, final, fx.data)
}
