package study_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/internal/testenv"
	"imageshare/study"
	"imageshare/synthetic"
)

func TestScanRealStudies(t *testing.T) {
	shared := testenv.SharedDICOM(t)
	tests := []struct {
		dir                  string
		files, series        int
		modality             string
		patientName, patient string
	}{
		{"ct-pancreas/CT_series", 134, 1, "CT", "Pancreas-CT-CB_001", "Pancreas-CT-CB_001"},
		{"mr-fmri-small-files/dicoms", 630, 1, "MR", "Jane_Doe", "02"},
		{"mr-t1-structural/dicoms", 384, 1, "MR", "Jane_Doe", "02"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(shared, tt.dir)
			s := scan(t, dir)
			if len(s.Problems) > 0 || len(s.Skipped) > 0 {
				t.Errorf("problems %v, skipped %v, want none", s.Problems, s.Skipped)
			}
			if len(s.Studies) != 1 {
				t.Fatalf("%d studies, want 1", len(s.Studies))
			}
			st := s.Studies[0]
			sum := st.Summary
			var bytes int64
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				fi, err := e.Info()
				if err != nil {
					t.Fatal(err)
				}
				bytes += fi.Size()
			}
			if len(entries) != tt.files {
				t.Fatalf("the folder has %d files, the test expects %d", len(entries), tt.files)
			}
			if sum.Files != tt.files || len(st.Files) != tt.files || sum.Bytes != bytes {
				t.Errorf("%d files (%d listed) of %d bytes, want %d of %d", sum.Files, len(st.Files), sum.Bytes, tt.files, bytes)
			}
			if len(sum.Series) != tt.series || sum.Series[0].Images != tt.files || sum.Series[0].Bytes != bytes {
				t.Errorf("series %+v, want %d holding all files", sum.Series, tt.series)
			}
			if !slices.Equal(sum.Modalities, []string{tt.modality}) || sum.Series[0].Modality != tt.modality {
				t.Errorf("modalities %v, series modality %q, want %s", sum.Modalities, sum.Series[0].Modality, tt.modality)
			}
			if sum.PatientName != tt.patientName || sum.PatientID != tt.patient {
				t.Errorf("patient %q, ID %q, want %q, %q", sum.PatientName, sum.PatientID, tt.patientName, tt.patient)
			}
			sops := map[string]bool{}
			for i, f := range st.Files {
				if f.Kind != study.KindDICOM || f.StudyUID != sum.StudyUID || f.SOPInstanceUID == "" || f.Modality != tt.modality {
					t.Errorf("file %+v", f)
				}
				if f.Rel != filepath.Base(f.Path) {
					t.Errorf("%s: rel %q, want its base name", f.Path, f.Rel)
				}
				sops[f.SOPInstanceUID] = true
				if i > 0 && st.Files[i-1].SeriesUID == f.SeriesUID && st.Files[i-1].Rel == f.Rel {
					t.Errorf("%s listed twice", f.Rel)
				}
			}
			if len(sops) != tt.files {
				t.Errorf("%d distinct SOP Instance UIDs, want %d", len(sops), tt.files)
			}
			picked, err := study.Select(s, nil, false)
			if err != nil || len(picked) != 1 || picked[0] != st {
				t.Errorf("Select: %v, %v; want the one study", picked, err)
			}
		})
	}
}

// TestScanFormatZoo checks every file the zoo's manifests list: a file that
// dcmdump parses is read (into a study, or refused as a second copy of an
// instance or for lacking UIDs), one it does not is a problem, and so are the
// zoo's deliberately broken files and its text files.
func TestScanFormatZoo(t *testing.T) {
	zoo := filepath.Join(testenv.SharedDICOM(t), "format-zoo")
	s := scan(t, zoo)

	manifests, err := filepath.Glob(filepath.Join(zoo, "*", "MANIFEST.tsv"))
	if err != nil || len(manifests) == 0 {
		t.Fatalf("no manifests in %s: %v", zoo, err)
	}
	listed := map[string]bool{}
	for _, m := range manifests {
		f, err := os.Open(m)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header: path bytes pydicom dcmdump_rc ...
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			path := filepath.Join(filepath.Dir(m), filepath.FromSlash(cols[0]))
			listed[path] = true
			p := problem(s, path)
			switch {
			case cols[3] != "0":
				if p == nil || !errors.Is(p, study.ErrTruncated) {
					t.Errorf("%s (dcmdump rc %s): %v, want a truncated file", cols[0], cols[3], p)
				}
			case filepath.Base(path) == "bad_sequence.dcm":
				if p == nil || !errors.Is(p, study.ErrInvalidUID) {
					t.Errorf("%s: %v, want an invalid UID", cols[0], p)
				}
			case p != nil:
				if !errors.Is(p, study.ErrDuplicate) && !errors.Is(p, study.ErrMissingUID) {
					t.Errorf("%s: %v, want it read", cols[0], p)
				}
			case inStudy(s, path) == nil:
				t.Errorf("%s: neither in a study nor a problem", cols[0])
			}
		}
		f.Close()
	}
	for _, p := range s.Problems {
		if !strings.HasPrefix(p.Error(), p.Path+": ") {
			t.Errorf("%q does not start with the file's path", p.Error())
		}
		if !listed[p.Path] && !errors.Is(p, study.ErrNotDICOM) {
			t.Errorf("%v: want not DICOM", p)
		}
	}
	// A file with neither preamble nor meta group is read.
	if st := inStudy(s, filepath.Join(zoo, "pydicom-data/data/OT-PAL-8-face.dcm")); st == nil {
		t.Error("OT-PAL-8-face.dcm (no preamble, no meta group) not read")
	}

	_, err = study.Select(s, nil, false)
	var amb *study.AmbiguousError
	if !errors.As(err, &amb) || !amb.MultiplePatients {
		t.Fatalf("Select: %v, want an AmbiguousError of several patients", err)
	}
	msg := err.Error()
	for _, st := range s.Studies {
		if !strings.Contains(msg, st.Summary.StudyUID) || !strings.Contains(msg, study.FormatName(st.Summary.PatientName)) {
			t.Errorf("the refusal does not list study %s of %s", st.Summary.StudyUID, st.Summary.PatientName)
		}
	}
	if !strings.Contains(msg, "--study") {
		t.Errorf("the refusal does not say to pick one with --study:\n%s", msg)
	}
	if _, err := study.Select(s, nil, true); !errors.As(err, &amb) || !amb.MultiplePatients {
		t.Errorf("Select all: %v, want an AmbiguousError of several patients", err)
	}
}

func TestScanLibraryTestdata(t *testing.T) {
	dir := testenv.LibraryTestdata(t)
	s := scan(t, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if filepath.Ext(path) == ".dcm" {
			if inStudy(s, path) == nil {
				t.Errorf("%s: %v, want it read", e.Name(), problem(s, path))
			}
		} else if p := problem(s, path); p == nil || !errors.Is(p, study.ErrNotDICOM) {
			t.Errorf("%s: %v, want not DICOM", e.Name(), p)
		}
	}
	// 6.dcm is deflated: a cut copy is truncated.
	b := readFile(t, filepath.Join(dir, "6.dcm"))
	checkErr(t, "6.dcm cut short", study.ReadHeader(bytes.NewReader(b[:len(b)-100]), int64(len(b)-100)), study.ErrTruncated)
}

// cuts checks that a file cut at each length is refused as want says, and
// whole is read.
func cuts(t *testing.T, b []byte, cases map[int]error) {
	t.Helper()
	dir := t.TempDir()
	lengths := slices.Sorted(func(yield func(int) bool) {
		for n := range cases {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range lengths {
		path := writeFile(t, filepath.Join(dir, fmt.Sprintf("cut-%07d.dcm", n)), b[:n])
		s := scan(t, path)
		want := cases[n]
		var err error
		if p := problem(s, path); p != nil {
			err = p
		} else if inStudy(s, path) == nil {
			err = errors.New("neither read nor a problem")
		}
		checkErr(t, fmt.Sprintf("%d of %d bytes", n, len(b)), err, want)
	}
}

// pixelDataAt returns where the element (7FE0,0010) starts in b.
func pixelDataAt(t *testing.T, b []byte, implicit bool) int {
	t.Helper()
	var hdr []byte
	if implicit {
		hdr = []byte{0xE0, 0x7F, 0x10, 0x00}
	} else {
		hdr = []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W'}
	}
	i := bytes.LastIndex(b, hdr)
	if i < 0 {
		t.Fatal("no pixel data")
	}
	return i
}

func TestTruncatedCTSlice(t *testing.T) {
	b := readFile(t, filepath.Join(testenv.SharedDICOM(t), "ct-pancreas/CT_series/1-001.dcm"))
	px := pixelDataAt(t, b, true)
	if px+8+512*512*2 != len(b) {
		t.Fatalf("pixel data at %d of %d bytes: not the layout this test expects", px, len(b))
	}
	cuts(t, b, map[int]error{
		0:          study.ErrNotDICOM,
		131:        study.ErrNotDICOM, // shorter than a preamble: nothing says DICOM
		132:        study.ErrTruncated,
		140:        study.ErrTruncated,
		1000:       study.ErrTruncated,
		px - 1:     study.ErrTruncated,
		px:         study.ErrTruncated, // ends where an element ends, before the pixel data
		px + 4:     study.ErrTruncated,
		px + 8:     study.ErrTruncated,
		len(b) - 2: study.ErrTruncated,
		len(b) - 1: study.ErrTruncated,
		len(b):     nil,
	})
}

func TestTruncatedSynthetic(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 1})
	b := readFile(t, res.Files[0])
	px := pixelDataAt(t, b, false)
	cuts(t, b, map[int]error{
		0:          study.ErrNotDICOM,
		132:        study.ErrTruncated,
		200:        study.ErrTruncated,
		px:         study.ErrTruncated,
		px + 11:    study.ErrTruncated,
		px + 12:    study.ErrTruncated,
		len(b) - 1: study.ErrTruncated,
		len(b):     nil,
	})
}

func TestTruncatedEncapsulated(t *testing.T) {
	b := readFile(t, filepath.Join(testenv.SharedDICOM(t), "format-zoo/cornerstone-dicomParser/testImages/encapsulated/single-frame/CT1_UNC.fragmented_no_bot_jpeg_ls.80.dcm"))
	// The pixel data ends with its sequence delimiter, then 138 bytes of
	// (FFFC,FFFC) padding end the file.
	end := len(b) - 138
	if !bytes.Equal(b[end-8:end], []byte{0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}) {
		t.Fatal("the file is not laid out as this test expects")
	}
	cuts(t, b, map[int]error{
		end - 1000: study.ErrTruncated, // inside a fragment
		end - 8:    study.ErrTruncated, // no sequence delimiter
		end:        nil,                // no padding: nothing says it was there
		end + 4:    study.ErrTruncated, // the padding's header is cut
		end + 12:   study.ErrTruncated, // the padding is cut
		len(b) - 1: study.ErrTruncated,
		len(b):     nil,
	})
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestHeaderOnly checks that reading a header does not read the pixel data.
func TestHeaderOnly(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 1, Rows: 512, Columns: 512})
	for _, name := range res.Files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		c := &countingReaderAt{r: f}
		if err := study.ReadHeader(c, fi.Size()); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if c.n.Load() > 64<<10 {
			t.Errorf("read %d bytes of a %d-byte file, want the header only", c.n.Load(), fi.Size())
		}
	}
}

func TestNotDICOM(t *testing.T) {
	dir := t.TempDir()
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"notes.txt":  []byte(strings.Repeat("Patient arrived by ambulance at 03:12.\n", 10)),
		"scout.png":  pngBytes.Bytes(),
		"empty.dcm":  nil,
		"zeros.dcm":  make([]byte, 4096),
		"short.dcm":  []byte("DICM"),
		"report.pdf": append([]byte("%PDF-1.4\n"), make([]byte, 300)...),
	}
	for name, b := range files {
		writeFile(t, filepath.Join(dir, name), b)
	}
	s := scan(t, dir)
	for name := range files {
		p := problem(s, filepath.Join(dir, name))
		if p == nil || !errors.Is(p, study.ErrNotDICOM) {
			t.Errorf("%s: %v, want not DICOM", name, p)
		}
	}
}

// writeDataset writes a DICOM file of the given elements with the library.
func writeDataset(t *testing.T, path string, elems map[tag.Tag][]string) string {
	t.Helper()
	var ds dicom.Dataset
	tags := slices.SortedFunc(func(yield func(tag.Tag) bool) {
		for k := range elems {
			if !yield(k) {
				return
			}
		}
	}, func(a, b tag.Tag) int {
		return int(uint32(a.Group)<<16|uint32(a.Element)) - int(uint32(b.Group)<<16|uint32(b.Element))
	})
	for _, k := range tags {
		e, err := dicom.NewElement(k, elems[k])
		if err != nil {
			t.Fatal(err)
		}
		ds.Elements = append(ds.Elements, e)
	}
	var buf bytes.Buffer
	if err := dicom.Write(&buf, ds); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, path, buf.Bytes())
}

func TestSkipped(t *testing.T) {
	root := t.TempDir()
	res := writeSynthetic(t, synthetic.Options{Dir: filepath.Join(root, "ct")})
	one := readFile(t, res.Files[0])
	mediaDir := map[tag.Tag][]string{
		tag.MediaStorageSOPClassUID:    {"1.2.840.10008.1.3.10"},
		tag.MediaStorageSOPInstanceUID: {"1.2.3.4"},
		tag.TransferSyntaxUID:          {"1.2.840.10008.1.2.1"},
		tag.FileSetID:                  {"DISC1"},
	}
	skipped := []string{
		writeFile(t, filepath.Join(root, ".hidden.dcm"), one),
		filepath.Join(root, ".git"),
		writeFile(t, filepath.Join(root, "Thumbs.db"), []byte("x")),
		writeFile(t, filepath.Join(root, "ct", "desktop.ini"), []byte("[.ShellClassInfo]")),
		writeFile(t, filepath.Join(root, "ct", "DICOMDIR"), []byte("not even read: not at the top")),
		writeDataset(t, filepath.Join(root, "INDEX"), mediaDir), // a DICOMDIR by its class
	}
	writeFile(t, filepath.Join(root, ".git", "HEAD"), []byte("ref: refs/heads/main"))
	if err := os.Symlink(filepath.Join(root, "ct"), filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	skipped = append(skipped, filepath.Join(root, "linked"))
	slices.Sort(skipped)

	s := scan(t, root)
	if !slices.Equal(s.Skipped, skipped) {
		t.Errorf("skipped\n%q\nwant\n%q", s.Skipped, skipped)
	}
	if len(s.Problems) > 0 || len(s.Studies) != 1 || s.Studies[0].Summary.Files != len(res.Files) {
		t.Errorf("problems %v, %d studies; want none and one of %d files", s.Problems, len(s.Studies), len(res.Files))
	}
}

func TestSymlinks(t *testing.T) {
	root := t.TempDir()
	res := writeSynthetic(t, synthetic.Options{})
	// A symlinked file inside the folder is read; one that leads out of
	// it (anywhere on the disk) is refused, named; a folder named on the
	// command line is read even through a symlink.
	writeFile(t, filepath.Join(root, ".store", "a.dcm"), readFile(t, res.Files[1])) // skipped: read once, through the link
	if err := os.Symlink(filepath.Join(".store", "a.dcm"), filepath.Join(root, "second.dcm")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(res.Files[0], filepath.Join(root, "first.dcm")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", filepath.Base(root), "..", "etc-passwd"), filepath.Join(root, "up.dcm")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(filepath.Dir(root), "etc-passwd"), []byte("root:x:0:0"))
	if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling.dcm")); err != nil {
		t.Fatal(err)
	}
	s := scan(t, root)
	if st := inStudy(s, filepath.Join(root, "second.dcm")); st == nil {
		t.Errorf("symlinked file inside the folder not read: %v", s.Problems)
	}
	for _, out := range []string{"first.dcm", "up.dcm"} {
		if p := problem(s, filepath.Join(root, out)); p == nil || !errors.Is(p, study.ErrOutsideRoot) {
			t.Errorf("%s leads out of the folder: %v, want ErrOutsideRoot; problems %v", out, p, s.Problems)
		}
		if st := inStudy(s, filepath.Join(root, out)); st != nil {
			t.Errorf("%s, which leads out of the folder, was read", out)
		}
	}
	if p := problem(s, filepath.Join(root, "dangling.dcm")); p == nil {
		t.Error("dangling symlink: no problem")
	}
	root = t.TempDir()
	link := filepath.Join(root, "study")
	if err := os.Symlink(filepath.Dir(filepath.Dir(res.Files[0])), link); err != nil {
		t.Fatal(err)
	}
	s = scan(t, link)
	if len(s.Studies) != 1 || s.Studies[0].Summary.Files != len(res.Files) {
		t.Errorf("folder named through a symlink: %d studies, problems %v", len(s.Studies), s.Problems)
	}
	for _, f := range s.Studies[0].Files {
		if !strings.HasPrefix(f.Path, link+string(filepath.Separator)) {
			t.Errorf("path %s, want it under %s as named", f.Path, link)
		}
	}
}

func rels(s *study.Scan) []string {
	var out []string
	for _, st := range s.Studies {
		for _, f := range st.Files {
			out = append(out, f.Rel)
		}
	}
	slices.Sort(out)
	return out
}

func TestRelNames(t *testing.T) {
	root := t.TempDir()
	a := writeSynthetic(t, synthetic.Options{Dir: filepath.Join(root, "a"), Images: 2, Seed: 1})
	b := writeSynthetic(t, synthetic.Options{Dir: filepath.Join(root, "b"), Images: 2, Seed: 1, PatientName: "OTHER^STUDY"})

	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"folder", []string{filepath.Join(root, "a")}, []string{"series-001/IM00001.dcm", "series-001/IM00002.dcm"}},
		{"files", a.Files, []string{"IM00001.dcm", "IM00002.dcm"}},
		{"two folders", []string{filepath.Join(root, "a"), filepath.Join(root, "b")},
			[]string{"a/series-001/IM00001.dcm", "a/series-001/IM00002.dcm", "b/series-001/IM00001.dcm", "b/series-001/IM00002.dcm"}},
		{"folder and file", []string{filepath.Join(root, "a", "series-001"), b.Files[1]},
			[]string{"IM00002.dcm", "series-001/IM00001.dcm", "series-001/IM00002.dcm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rels(scan(t, tt.paths...)); !slices.Equal(got, tt.want) {
				t.Errorf("names %q, want %q", got, tt.want)
			}
		})
	}

	// Two files under one name, also when only their case differs.
	for _, paths := range [][]string{
		{a.Files[0], b.Files[0]},
		{writeFile(t, filepath.Join(root, "c", "IM1.dcm"), readFile(t, a.Files[0])), writeFile(t, filepath.Join(root, "d", "im1.DCM"), readFile(t, b.Files[0]))},
		{filepath.Join(root, "a", "series-001"), writeFile(t, filepath.Join(root, "e", "Series-001"), readFile(t, b.Files[0]))},
	} {
		_, err := study.ScanPaths(context.Background(), paths, study.ScanOptions{})
		if err == nil || !strings.Contains(err.Error(), paths[1]) {
			t.Errorf("ScanPaths(%q): %v, want an error naming both", paths, err)
		}
	}

	// A name Windows cannot create is a problem.
	bad := writeFile(t, filepath.Join(root, "f", "IM:1.dcm"), readFile(t, a.Files[0]))
	s := scan(t, filepath.Join(root, "f"))
	if p := problem(s, bad); p == nil || !strings.Contains(p.Error(), "Windows") {
		t.Errorf("%s: %v, want a problem", bad, p)
	}
}

func TestDuplicateInstance(t *testing.T) {
	root := t.TempDir()
	res := writeSynthetic(t, synthetic.Options{Images: 1})
	first := writeFile(t, filepath.Join(root, "a.dcm"), readFile(t, res.Files[0]))
	second := writeFile(t, filepath.Join(root, "b.dcm"), readFile(t, res.Files[0]))
	s := scan(t, root)
	p := problem(s, second)
	if p == nil || !errors.Is(p, study.ErrDuplicate) || !strings.Contains(p.Error(), "also in "+first) {
		t.Errorf("second copy: %v, want a duplicate naming %s", p, first)
	}
	if len(s.Studies) != 1 || len(s.Studies[0].Files) != 1 || s.Studies[0].Files[0].Path != first {
		t.Errorf("studies %v, want the first copy only", s.Studies)
	}
}

func TestOtherPatientInStudy(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 3, PatientID: "MRN0001"})
	odd := res.Files[1]
	writeFile(t, odd, replaceOnce(t, readFile(t, odd), "MRN0001", "MRN0002"))
	s := scan(t, filepath.Dir(odd))
	if p := problem(s, odd); p == nil || !errors.Is(p, study.ErrOtherPatient) {
		t.Errorf("%v, want another patient", p)
	}
	if len(s.Studies) != 1 || s.Studies[0].Summary.Files != 2 || s.Studies[0].Summary.PatientID != "MRN0001" {
		t.Errorf("studies %+v, want one of patient MRN0001 with 2 files", s.Studies)
	}
}

func TestUIDs(t *testing.T) {
	dir := t.TempDir()
	base := map[tag.Tag][]string{
		tag.MediaStorageSOPClassUID:    {"1.2.840.10008.5.1.4.1.1.7"},
		tag.MediaStorageSOPInstanceUID: {"1.2.3.4"},
		tag.TransferSyntaxUID:          {"1.2.840.10008.1.2.1"},
		tag.SOPClassUID:                {"1.2.840.10008.5.1.4.1.1.7"},
		tag.SOPInstanceUID:             {"1.2.3.4"},
		tag.StudyInstanceUID:           {"1.2.3"},
		tag.SeriesInstanceUID:          {"1.2.3.1"},
		tag.PatientID:                  {"P1"},
	}
	with := func(k tag.Tag, v string) map[tag.Tag][]string {
		m := map[tag.Tag][]string{}
		for t, x := range base {
			m[t] = x
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = []string{v}
		}
		return m
	}
	tests := []struct {
		name string
		ds   map[tag.Tag][]string
		want error
	}{
		{"whole", base, nil},
		{"no study", with(tag.StudyInstanceUID, ""), study.ErrMissingUID},
		{"no instance", with(tag.SOPInstanceUID, ""), study.ErrMissingUID},
		{"hex study", with(tag.StudyInstanceUID, "05fa52f0e599"), study.ErrInvalidUID},
		{"empty component", with(tag.SeriesInstanceUID, "1..2"), study.ErrInvalidUID},
		{"too long", with(tag.SOPInstanceUID, "1."+strings.Repeat("2", 63)), study.ErrInvalidUID},
	}
	for _, tt := range tests {
		path := writeDataset(t, filepath.Join(dir, tt.name+".dcm"), tt.ds)
		s := scan(t, path)
		var err error
		if p := problem(s, path); p != nil {
			err = p
		}
		checkErr(t, tt.name, err, tt.want)
	}
}

// TestNoPreamble reads files written without preamble, with and without a
// meta group.
func TestNoPreamble(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 1})
	b := readFile(t, res.Files[0])
	metaLen := int(binary.LittleEndian.Uint32(b[140:]))
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"meta-only.dcm": b[132:],
		"bare.dcm":      b[144+metaLen:],
	} {
		path := writeFile(t, filepath.Join(dir, name), data)
		s := scan(t, path)
		st := inStudy(s, path)
		if st == nil || st.Summary.StudyUID != res.StudyUID {
			t.Errorf("%s: %v, want it read", name, s.Problems)
		}
	}
}

func TestProgressAndCancel(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 20, Rows: 8, Columns: 8})
	dir := filepath.Dir(filepath.Dir(res.Files[0]))
	var calls [][2]int // no lock: the race detector checks that one goroutine calls
	_, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{
		Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 21 || calls[0] != [2]int{0, 20} || calls[20] != [2]int{20, 20} {
		t.Errorf("progress %v, want 0..20 of 20", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] != calls[i-1][0]+1 {
			t.Errorf("progress %v, want one step at a time", calls)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := study.ScanPaths(ctx, []string{dir}, study.ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled scan: %v, want context.Canceled", err)
	}
	if _, err := study.ScanPaths(context.Background(), []string{filepath.Join(dir, "nowhere")}, study.ScanOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v, want not exist", err)
	}
}

// FuzzReadHeader reads arbitrary bytes as a file. Seeds: synthetic files in
// both syntaxes' shapes (with and without preamble), cut short, and the
// library's small test files.
func FuzzReadHeader(f *testing.F) {
	res := writeSynthetic(f, synthetic.Options{Images: 1, Rows: 4, Columns: 4})
	b := readFile(f, res.Files[0])
	seeds := [][]byte{b, b[132:], b[:len(b)-3], b[:300]}
	for _, name := range []string{"3.dcm", "6.dcm"} {
		if lib, err := os.ReadFile(filepath.Join(testenv.LibraryTestdata(f), name)); err == nil {
			seeds = append(seeds, lib[:min(len(lib), 8<<10)])
		}
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := study.ReadHeader(bytes.NewReader(b), int64(len(b)))
		if err != nil && err.Error() == "" {
			t.Error("empty error")
		}
	})
}

// TestLengthsNoByteBacks checks that lengths no byte backs cost nothing:
// the library allocates a value's length before it reads the value.
func TestLengthsNoByteBacks(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 1, Rows: 4, Columns: 4})
	b := readFile(t, res.Files[0])
	metaEnd := 144 + int(binary.LittleEndian.Uint32(b[140:]))
	le := binary.LittleEndian
	explicit := func(group, elem uint16, vr string, vl uint32) []byte {
		h := le.AppendUint16(le.AppendUint16(nil, group), elem)
		h = append(h, vr...)
		if vr == "OB" || vr == "SQ" {
			return le.AppendUint32(append(h, 0, 0), vl)
		}
		return le.AppendUint16(h, uint16(vl))
	}
	item := le.AppendUint32([]byte{0xFE, 0xFF, 0x00, 0xE0}, 0xFFFFFFFF)
	nested := slices.Concat(b[:metaEnd], explicit(0x0008, 0x1140, "SQ", 0xFFFFFFFF), item,
		explicit(0x0042, 0x0011, "OB", 3<<30), make([]byte, 200))
	topLevel := slices.Concat(b[:metaEnd], explicit(0x0042, 0x0011, "OB", 0xFFFFFFF0), make([]byte, 200))
	for name, data := range map[string][]byte{
		"bare, first byte gone": b[metaEnd+1:], // each syntax the library tries reads a huge length
		"nested":                nested,
		"top level":             topLevel,
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := study.ReadHeader(bytes.NewReader(data), int64(len(data)))
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: read", name)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte file: %v", name, n, len(data), err)
		}
	}
}
