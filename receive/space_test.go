package receive

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/card"
	"imageshare/study"
	"imageshare/transfer"
)

// The receiver checks the study against the free space of --out before
// it asks and fetches, and refuses with exit 11 and the figures; what an
// earlier run into the study's folder already wrote does not count.
func TestNotEnoughSpaceRefusedEarly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "incoming") // not made yet
	var offer card.Offer
	offer.ManifestHash[0] = 7
	m := &transfer.Manifest{OfferID: offer.ID.String(), Studies: []study.Summary{{StudyDate: "20240611"}},
		Files: []transfer.File{{Path: "a/1.dcm", Size: 3 << 20}, {Path: "a/2.dcm", Size: 2 << 20}}}
	free := uint64(4 << 20)
	asked := false
	s := &session{o: Options{Out: out, FreeSpace: func(dir string) (uint64, bool) {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("free space asked of %s: %v", dir, err)
		}
		return free, true
	}, Confirm: func(*transfer.Manifest) (bool, error) { asked = true; return true, nil }},
		offer: &offer, events: func(Event) {}}

	err := s.decide(m)
	var se *transfer.SpaceError
	if !errors.As(err, &se) || !errors.Is(err, transfer.ErrDisk) {
		t.Fatalf("5 MiB into 4 MiB free: %v, want a SpaceError", err)
	}
	if asked {
		t.Error("asked before refusing")
	}
	for _, s := range []string{"5.0 MiB", "4.0 MiB", out} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not give %s", err, s)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was made for a study that does not fit", out)
	}

	// An earlier run saved a.dcm/1.dcm: 2 MiB are still needed.
	dir, err := transfer.ClaimFolder(out, studyFolder(m), offer.ManifestHash)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "1.dcm"), make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.decide(m); err != nil || !asked {
		t.Fatalf("resume needing 2 MiB of 4 MiB free: %v, asked %v", err, asked)
	}
}
