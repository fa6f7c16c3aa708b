package transfer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"imageshare/study"
)

// A manifest without a study crashed the receiver (index out of range)
// after the files were saved and the receipt sent: nothing could be
// audited.
func TestValidateNeedsAStudy(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	for name, studies := range map[string][]study.Summary{"null": nil, "empty": {}} {
		m := *fx.packed.Manifest
		m.Studies = studies
		var me *ManifestError
		if err := m.Validate(fx.offer.ID); !errors.As(err, &me) || me.Field != "studies" {
			t.Errorf("%s studies: got %v, want a ManifestError on studies", name, err)
		}
	}
}

// The check that no file is also a folder cost files × depth × name
// length: 20,000 empty files 505 folders deep took 61 s. It must be
// linear in the manifest's size.
// deepManifest is fx's manifest with files empty files under paths made
// by path.
func deepManifest(fx *fixture, files int, path func(i int) string) Manifest {
	m := *fx.packed.Manifest
	m.Chunks = nil
	m.Files = make([]File, files)
	for i := range m.Files {
		m.Files[i] = File{Path: path(i), BLAKE3: Hash{0xab}, Kind: study.KindDICOM}
	}
	return m
}

// deepLayouts are the two shapes that made the file-or-folder check cost
// files × depth × name length: every file in one deep folder, and every
// file at the end of its own deep chain of folders.
func deepLayouts(depth int) map[string]func(i int) string {
	deep := strings.Repeat("d/", depth)
	return map[string]func(i int) string{
		"one folder":  func(i int) string { return fmt.Sprintf("%s%05d", deep, i) },
		"own folders": func(i int) string { return fmt.Sprintf("%05d/%s", i, deep[:len(deep)-1]) },
	}
}

// TestValidateDeepFolders: deep layouts are valid, and a file that is also
// a folder is found however deep. How long the check takes is
// BenchmarkValidateDeepFolders's to say (make bench), not a test's.
func TestValidateDeepFolders(t *testing.T) {
	fx := newFixture(t, []int{10}, 1000)
	const depth = 50
	deep := strings.Repeat("d/", depth)
	for name, path := range deepLayouts(depth) {
		m := deepManifest(fx, 2_000, path)
		if err := m.Validate(fx.offer.ID); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The check still finds a file that is also a folder, deep down.
	m := *fx.packed.Manifest
	m.Chunks = nil
	m.Files = []File{
		{Path: deep + "x/y", BLAKE3: Hash{0xab}, Kind: study.KindDICOM},
		{Path: strings.ToUpper(deep) + "X", BLAKE3: Hash{0xab}, Kind: study.KindDICOM},
	}
	var me *ManifestError
	if err := m.Validate(fx.offer.ID); !errors.As(err, &me) || !strings.Contains(err.Error(), "both a file and the folder") {
		t.Errorf("got %v, want a file that is also a folder", err)
	}
}

// BenchmarkValidateDeepFolders validates 20,000 empty files 505 folders
// deep, the shapes that took 61 s when the check cost files × depth ×
// name length (0.7 s once it sorts).
func BenchmarkValidateDeepFolders(b *testing.B) {
	fx := newFixture(b, []int{10}, 1000)
	for name, path := range deepLayouts(505) {
		m := deepManifest(fx, 20_000, path)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := m.Validate(fx.offer.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
