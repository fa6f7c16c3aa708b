package synthetic

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/internal/testenv"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// uidTags are the UIDs Replicate replaces.
var uidTags = map[tag.Tag]bool{
	tag.StudyInstanceUID:           true,
	tag.SeriesInstanceUID:          true,
	tag.SOPInstanceUID:             true,
	tag.MediaStorageSOPInstanceUID: true,
	tag.FrameOfReferenceUID:        true,
}

// checkReplicated checks that the copies of src in res make one study whose
// UIDs are all new, and that nothing but those UIDs changed.
func checkReplicated(t *testing.T, src, dst string, res *Result, copies int) {
	t.Helper()
	orig := scanOne(t, src)
	st := scanOne(t, dst)
	sum := st.Summary
	if sum.StudyUID != res.StudyUID || sum.StudyUID == orig.Summary.StudyUID {
		t.Errorf("study %s, want %s, new", sum.StudyUID, res.StudyUID)
	}
	if sum.Files != copies*orig.Summary.Files || len(sum.Series) != copies*len(orig.Summary.Series) {
		t.Errorf("%d files in %d series, want %d copies of %d in %d", sum.Files, len(sum.Series), copies, orig.Summary.Files, len(orig.Summary.Series))
	}
	old := map[string]bool{orig.Summary.StudyUID: true}
	for _, f := range orig.Files {
		old[f.SeriesUID], old[f.SOPInstanceUID] = true, true
	}
	seen := map[string]bool{}
	for _, f := range st.Files {
		if old[f.SOPInstanceUID] || old[f.SeriesUID] || seen[f.SOPInstanceUID] {
			t.Errorf("%s: instance %s, series %s: not fresh or not unique", f.Path, f.SOPInstanceUID, f.SeriesUID)
		}
		seen[f.SOPInstanceUID] = true
	}

	// Element by element, a copy equals its original but for the UIDs.
	a, err := dicom.ParseFile(orig.Files[0].Path, nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dst, "copy-001", filepath.FromSlash(orig.Files[0].Rel))
	b, err := dicom.ParseFile(name, nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Elements) != len(b.Elements) {
		t.Fatalf("%d elements, want %d", len(b.Elements), len(a.Elements))
	}
	for i, e := range a.Elements {
		f := b.Elements[i]
		switch {
		case e.Tag != f.Tag:
			t.Errorf("element %d is %v, want %v", i, f.Tag, e.Tag)
		case uidTags[e.Tag]:
			if e.Value.String() == f.Value.String() {
				t.Errorf("%v kept its value %v", e.Tag, e.Value)
			}
		case e.Tag == tag.FileMetaInformationGroupLength:
		case !e.Value.Equals(f.Value):
			t.Errorf("%v changed: %v, was %v", e.Tag, f.Value, e.Value)
		}
	}
}

func TestReplicateCT(t *testing.T) {
	src := filepath.Join(testenv.SharedDICOM(t), "ct-pancreas/CT_series")
	dst := t.TempDir()
	res, err := Replicate(t.Context(), src, dst, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 268 || !strings.HasPrefix(res.Files[0], filepath.Join(dst, "copy-001")+string(filepath.Separator)) {
		t.Errorf("%d files, first %s", len(res.Files), res.Files[0])
	}
	checkReplicated(t, src, dst, res, 2)
	dcmdump(t, res.Files...)

	// The same seed writes the same bytes.
	again, err := Replicate(t.Context(), src, t.TempDir(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if again.StudyUID != res.StudyUID || !bytes.Equal(readFile(t, again.Files[7]), readFile(t, res.Files[7])) {
		t.Error("the same seed wrote other bytes")
	}
}

func TestReplicateSynthetic(t *testing.T) {
	src := t.TempDir()
	if _, err := Write(Options{Dir: src, Images: 3, Rows: 16, Columns: 16}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	res, err := Replicate(t.Context(), src, dst, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	checkReplicated(t, src, dst, res, 3)
	dcmdump(t, res.Files...)
}

func TestReplicateRefuses(t *testing.T) {
	two := t.TempDir()
	for i, seed := range []int64{1, 2} {
		if _, err := Write(Options{Dir: filepath.Join(two, string(rune('a'+i))), Images: 1, Rows: 8, Columns: 8, Seed: seed}); err != nil {
			t.Fatal(err)
		}
	}
	stray := t.TempDir()
	if _, err := Write(Options{Dir: stray, Images: 1, Rows: 8, Columns: 8}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stray, "notes.txt"), []byte("not DICOM"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := t.TempDir()
	if _, err := Write(Options{Dir: one, Images: 1, Rows: 8, Columns: 8}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		src, dst string
		copies   int
	}{
		{two, t.TempDir(), 1},
		{stray, t.TempDir(), 1},
		{one, filepath.Join(one, "copies"), 1},
		{one, t.TempDir(), 0},
		{filepath.Join(one, "nowhere"), t.TempDir(), 1},
	} {
		if _, err := Replicate(t.Context(), tt.src, tt.dst, tt.copies, 1); err == nil {
			t.Errorf("Replicate(%s, %s, %d): no error", tt.src, tt.dst, tt.copies)
		}
	}
}

// TestRewriteIdentity parses and writes back synthetic files and every Part
// 10 file of the shared data: with no UID changed, the bytes must be the
// same.
func TestRewriteIdentity(t *testing.T) {
	res, err := Write(Options{Dir: t.TempDir(), Images: 2, Rows: 8, Columns: 8})
	if err != nil {
		t.Fatal(err)
	}
	if n := rewriteIdentity(t, res.Files); n != len(res.Files) {
		t.Errorf("%d of %d synthetic files parsed", n, len(res.Files))
	}
	t.Run("shared", func(t *testing.T) {
		var files []string
		for _, dir := range []string{"format-zoo", "ct-pancreas/CT_series"} {
			filepath.WalkDir(filepath.Join(testenv.SharedDICOM(t), dir), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return nil
			})
		}
		if n := rewriteIdentity(t, files); n < 200 {
			t.Errorf("only %d files parsed", n)
		}
	})
}

// rewriteIdentity writes back each file that parses, changing nothing, and
// returns how many parsed. The others are not Part 10, deflated, or broken:
// Replicate refuses them.
func rewriteIdentity(t *testing.T, files []string) int {
	keep := func(tag.Tag, string) (string, bool) { return "", false }
	parsed := 0
	for _, p := range files {
		b := readFile(t, p)
		f, err := parseFile(b)
		if err != nil {
			continue
		}
		parsed++
		f.rewriteUIDs(keep)
		if !bytes.Equal(f.bytes(), b) {
			t.Errorf("%s: written back differently", p)
		}
	}
	return parsed
}
