package transfer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
func TestValidateDeepFoldersIsLinear(t *testing.T) {
	fx := newFixture(t, []int{10}, 1000)
	const files, depth = 20_000, 505
	deep := strings.Repeat("d/", depth)
	for name, path := range map[string]func(i int) string{
		"one folder":  func(i int) string { return fmt.Sprintf("%s%05d", deep, i) },
		"own folders": func(i int) string { return fmt.Sprintf("%05d/%s", i, deep[:len(deep)-1]) },
	} {
		m := *fx.packed.Manifest
		m.Chunks = nil
		m.Files = make([]File, files)
		for i := range m.Files {
			m.Files[i] = File{Path: path(i), BLAKE3: Hash{0xab}, Kind: study.KindDICOM}
		}
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- m.Validate(fx.offer.ID) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			t.Logf("%s: %d files %d folders deep validated in %s", name, files, depth, time.Since(start))
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: %d files %d folders deep not validated in 20 s", name, files, depth)
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
