package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"imageshare/internal/filelock"
)

// A study folder is named from the card (its date and offer ID), and offer
// IDs are not secret: a forged card with an earlier offer's ID must not
// resume into, or rename over, that offer's verified files, whether the
// study is still in the incoming folder or in place. Only a folder whose
// marker holds the same manifest hash is resumed into.
func TestClaimFolder(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "out") // made if need be
	var h1, h2, h3 [ManifestHashSize]byte
	h1[0], h2[0], h3[0] = 1, 2, 3
	claim := func(name string, h [ManifestHashSize]byte, want string) {
		t.Helper()
		got, err := ClaimFolder(parent, name, h)
		if err != nil {
			t.Fatal(err)
		}
		if want = filepath.Join(parent, filepath.FromSlash(want)); got != want {
			t.Fatalf("folder %s, want %s", got, want)
		}
	}
	claim("study-20240611-abc", h1, ".incoming/study-20240611-abc")
	claim("study-20240611-abc", h1, ".incoming/study-20240611-abc") // the same card again: resumed
	claim("study-20240611-abc", h2, ".incoming/study-20240611-abc-2")
	claim("study-20240611-abc", h2, ".incoming/study-20240611-abc-2")
	claim("study-20240611-abc", h1, ".incoming/study-20240611-abc")
	// Once in place, the study is found there, and its name stays its own.
	if err := os.Rename(filepath.Join(parent, ".incoming", "study-20240611-abc"), filepath.Join(parent, "study-20240611-abc")); err != nil {
		t.Fatal(err)
	}
	claim("study-20240611-abc", h1, "study-20240611-abc")
	claim("study-20240611-abc", h2, ".incoming/study-20240611-abc-2")
	claim("study-20240611-abc", h3, ".incoming/study-20240611-abc-3")
	// A folder without a marker (an older receiver's, or anyone's) is
	// nobody's to resume into, in place or incoming.
	for _, d := range []string{"study-20240611-def", ".incoming/study-20240611-ghi"} {
		if err := os.MkdirAll(filepath.Join(parent, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	claim("study-20240611-def", h1, ".incoming/study-20240611-def-2")
	claim("study-20240611-ghi", h1, ".incoming/study-20240611-ghi-2")
	if dir, ok, err := FindFolder(parent, "study-20240611-xyz", h1); err != nil || ok || dir != filepath.Join(parent, ".incoming", "study-20240611-xyz") {
		t.Fatalf("FindFolder of a new study: %s, %v, %v", dir, ok, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(parent, ".incoming", ".claim-*"))
	if len(leftovers) != 0 {
		t.Fatalf("claims left %v", leftovers)
	}
}

// Receivers claiming one study at once all get the one folder, marked:
// none sees it before its marker and goes on to name-2.
func TestClaimFolderConcurrent(t *testing.T) {
	parent := t.TempDir()
	var h [ManifestHashSize]byte
	h[0] = 9
	got := make(chan string, 8)
	for range cap(got) {
		go func() {
			dir, err := ClaimFolder(parent, "study", h)
			if err != nil {
				t.Error(err)
			}
			got <- dir
		}()
	}
	want := filepath.Join(parent, IncomingDir, "study")
	for range cap(got) {
		if dir := <-got; dir != want {
			t.Errorf("claimed %s, want %s", dir, want)
		}
	}
}

// Two stores on one study folder at once would rename each other's
// staging files away: the second is refused while the first is open.
func TestStoreLocksFolder(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	m, err := fx.client(t).Manifest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir, m); filelock.Supported && !errors.Is(err, ErrFolderBusy) {
		t.Fatalf("second store: %v, want ErrFolderBusy", err)
	}
	st.Close()
	st, err = OpenStore(dir, m)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	st.Close()
}

// A study is built in the incoming folder and moved into place whole by
// Commit; an interrupted one stays incoming, and resumes there.
func TestCommitMovesStudyIntoPlace(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	parent := t.TempDir()
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
	if err := c.Fetch(t.Context(), m, all(len(m.Chunks))[:1], st.Put, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(filepath.Join(parent, "study")); !os.IsNotExist(err) {
		t.Fatalf("an unfinished study is in place: %v", err)
	}
	if again, err := ClaimFolder(parent, "study", fx.offer.ManifestHash); err != nil || again != dir {
		t.Fatalf("resumed into %s (%v), want %s", again, err, dir)
	}
	st, err = OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(t.Context(), m, st.Need(), st.Put, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	final, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(parent, "study"); final != want || st.Dir() != want {
		t.Fatalf("committed to %s (Dir %s), want %s", final, st.Dir(), want)
	}
	checkReceived(t, final, fx.data)
	if _, err := os.Stat(filepath.Join(parent, IncomingDir)); !os.IsNotExist(err) {
		t.Errorf("empty incoming folder left behind: %v", err)
	}
	if again, err := ClaimFolder(parent, "study", fx.offer.ManifestHash); err != nil || again != final {
		t.Errorf("after Commit the folder is %s (%v), want %s", again, err, final)
	}
}

// The marker survives Finish, which removes only the staging files: the
// study folder stays the offer's after it is complete.
func TestClaimSurvivesFinish(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	parent := t.TempDir()
	dir, err := ClaimFolder(parent, "study", fx.offer.ManifestHash)
	if err != nil {
		t.Fatal(err)
	}
	c := fx.client(t)
	m, err := c.Manifest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := c.Fetch(t.Context(), m, all(len(m.Chunks)), st.Put, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, stagingDir, "partial")); !os.IsNotExist(err) {
		t.Errorf("staging files left behind: %v", err)
	}
	if again, err := ClaimFolder(parent, "study", fx.offer.ManifestHash); err != nil || again != dir {
		t.Errorf("after Finish the folder is %s (%v), want %s", again, err, dir)
	}
	var other [ManifestHashSize]byte
	if again, err := ClaimFolder(parent, "study", other); err != nil || again == dir {
		t.Errorf("another manifest is given %s (%v), the finished study's folder", again, err)
	}
}
