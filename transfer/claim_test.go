package transfer

import (
	"os"
	"path/filepath"
	"testing"
)

// A study folder is named from the card (its date and offer ID), and offer
// IDs are not secret: a forged card with an earlier offer's ID must not
// resume into, or rename over, that offer's verified files. Only a folder
// whose marker holds the same manifest hash is resumed into.
func TestClaimFolder(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "incoming") // made if need be
	var h1, h2 [ManifestHashSize]byte
	h1[0], h2[0] = 1, 2
	claim := func(h [ManifestHashSize]byte, want string) {
		t.Helper()
		got, err := ClaimFolder(parent, "study-20240611-abc", h)
		if err != nil {
			t.Fatal(err)
		}
		if want = filepath.Join(parent, want); got != want {
			t.Fatalf("folder %s, want %s", got, want)
		}
	}
	claim(h1, "study-20240611-abc")
	claim(h1, "study-20240611-abc") // the same card again: resumed
	claim(h2, "study-20240611-abc-2")
	claim(h2, "study-20240611-abc-2")
	claim(h1, "study-20240611-abc")
	// A folder without a marker (an older receiver's, or anyone's) is
	// nobody's to resume into.
	if err := os.MkdirAll(filepath.Join(parent, "study-20240611-def"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ClaimFolder(parent, "study-20240611-def", h1)
	if err != nil || got != filepath.Join(parent, "study-20240611-def-2") {
		t.Fatalf("folder without a marker: got %s, %v", got, err)
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
