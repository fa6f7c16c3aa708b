package transfer

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// TestManifestNames: a manifest is refused for a name that one of Windows,
// macOS and Linux could not create as it is, or for two names that one of
// them would take for one file (study.CheckName and study.FoldName hold
// the cases; here, that Validate applies them).
func TestManifestNames(t *testing.T) {
	fx := newFixture(t, []int{1500, 10, 20}, 1000)
	good := fx.packed.Manifest
	for name, paths := range map[string][2]string{
		"device with extension": {"series/nul.dcm", ""},
		"CONIN$":                {"CONIN$", ""},
		"superscript device":    {"LPT².dcm", ""},
		"trailing dot folder":   {"series./IM1.dcm", ""},
		"only spaces":           {"   /IM1.dcm", ""},
		"stream":                {"IM1.dcm:hidden", ""},
		"short name":            {"IM1.dcm", "SERIES~1.DCM"},
		"256 bytes":             {strings.Repeat("a", 256), ""},
		"staging in upper case": {".IMAGESHARE/partial/0", ""},
		"staging, dotless i":    {".ımageshare/partial/0", ""},
		"full case folding":     {"straße.dcm", "STRASSE.DCM"},
		"normalization":         {norm.NFC.String("série/1"), norm.NFD.String("SÉRIE/1")},
		"file and folder":       {"Series/IM1", "series/im1/IM2"},
	} {
		m := *good
		m.Files = append([]File{}, good.Files...)
		m.Files[0].Path = paths[0]
		if paths[1] != "" {
			m.Files[1].Path = paths[1]
		}
		var me *ManifestError
		if err := m.Validate(fx.offer.ID); !errors.As(err, &me) {
			t.Errorf("%s: %v, want a ManifestError", name, err)
		}
	}
	// What the rules leave: names no system changes.
	m := *good
	m.Files = append([]File{}, good.Files...)
	m.Files[0].Path, m.Files[1].Path, m.Files[2].Path = "CONSOLE/a~b.dcm", "straße/IM1", " x/ǖ∕y：z"
	if err := m.Validate(fx.offer.ID); err != nil {
		t.Errorf("%v, want the manifest valid", err)
	}
}
