package synthetic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/study"
)

// Replicate copies the study in the folder src copies times into dst, as
// dst/copy-NNN/<name in src>: one new study for all copies, and for each
// copy new series, instances and frame of reference. Only UIDs change, and
// the lengths that hold them; pixels, names and dates stay as they were.
// It is how benchmarks make 1–4 GB studies of real CT.
//
// src must hold exactly one study, and nothing that is not an instance of
// it; its files must be Part 10 files (with preamble), not deflated. Every
// UID of a study, series or instance of src is replaced wherever it appears,
// so references between the files stay whole. The new UIDs are made from
// seed and the old ones: the same call writes the same bytes.
func Replicate(ctx context.Context, src, dst string, copies int, seed int64) (*Result, error) {
	if copies < 1 {
		return nil, fmt.Errorf("copies: %d, want at least 1", copies)
	}
	if inside(dst, src) {
		return nil, fmt.Errorf("%s is inside %s: a second run would copy the copies", dst, src)
	}
	scan, err := study.ScanPaths(ctx, []string{src}, study.ScanOptions{})
	if err != nil {
		return nil, err
	}
	if len(scan.Problems) > 0 {
		return nil, fmt.Errorf("%s holds %d files that are not instances of a study, the first: %w", src, len(scan.Problems), scan.Problems[0])
	}
	if len(scan.Studies) != 1 {
		return nil, fmt.Errorf("%s holds %d studies, want 1", src, len(scan.Studies))
	}
	st := scan.Studies[0]
	oldStudy := st.Summary.StudyUID
	perCopy := map[string]bool{}
	for _, f := range st.Files {
		perCopy[f.SeriesUID] = true
		perCopy[f.SOPInstanceUID] = true
	}
	seedText := strconv.FormatInt(seed, 10)
	newUID := func(c int) func(t tag.Tag, old string) (string, bool) {
		return func(t tag.Tag, old string) (string, bool) {
			switch {
			case old == oldStudy:
				return deriveUID(seedText, "replicate", "study", old), true
			case perCopy[old] || t == tag.FrameOfReferenceUID:
				return deriveUID(seedText, "replicate", strconv.Itoa(c), old), true
			}
			return old, false
		}
	}

	width := max(3, len(strconv.Itoa(copies)))
	res := &Result{StudyUID: deriveUID(seedText, "replicate", "study", oldStudy)}
	res.Files = make([]string, copies*len(st.Files))
	sizes := make([]int64, len(res.Files))
	err = parallel(len(res.Files), func(k int) error {
		c, f := k/len(st.Files), st.Files[k%len(st.Files)]
		res.Files[k] = filepath.Join(dst, fmt.Sprintf("copy-%0*d", width, c+1), filepath.FromSlash(f.Rel))
		var err error
		sizes[k], err = replicateFile(f.Path, res.Files[k], newUID(c))
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, n := range sizes {
		res.Bytes += n
	}
	return res, nil
}

// replicateFile writes src to dst with its UIDs rewritten by fn.
func replicateFile(src, dst string, fn func(tag.Tag, string) (string, bool)) (int64, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return 0, err
	}
	f, err := parseFile(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", src, err)
	}
	f.rewriteUIDs(fn)
	out := f.bytes()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		return 0, err
	}
	return int64(len(out)), nil
}

// inside reports whether path is dir or under it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err := errors.Join(err1, err2); err != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
