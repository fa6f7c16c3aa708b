package study_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imageshare/internal/testenv"
	"imageshare/study"
	"imageshare/synthetic"
)

// dirRecord is a directory record that mkDICOMDIR writes.
type dirRecord struct {
	typ    string
	fileID string // backslash-separated; "" for none
	unused bool   // Record In-use Flag 0
	icon   bool   // an Icon Image Sequence, with pixel data, in the record
}

// mkDICOMDIR encodes a DICOMDIR as PS3.10 and PS3.3 annex F describe it, in
// explicit VR little endian: sequences and items of undefined length, as
// most media have them, or of defined length, as dcmmkdir writes them.
func mkDICOMDIR(records []dirRecord, undefined bool) []byte {
	le := binary.LittleEndian
	elem := func(group, element uint16, vr string, value []byte) []byte {
		if len(value)%2 == 1 {
			pad := byte(' ')
			if vr == "UI" || vr == "OB" {
				pad = 0
			}
			value = append(slices.Clone(value), pad)
		}
		b := le.AppendUint16(le.AppendUint16(nil, group), element)
		b = append(b, vr...)
		switch vr {
		case "OB", "OW", "SQ", "UN", "UT":
			b = le.AppendUint32(append(b, 0, 0), uint32(len(value)))
		default:
			b = le.AppendUint16(b, uint16(len(value)))
		}
		return append(b, value...)
	}
	us := func(v uint16) []byte { return le.AppendUint16(nil, v) }
	ul := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	// wrap makes a sequence of items, each of undefined or defined length.
	wrap := func(group, element uint16, items ...[]byte) []byte {
		var body []byte
		for _, it := range items {
			if undefined {
				body = append(body, le.AppendUint32([]byte{0xFE, 0xFF, 0x00, 0xE0}, 0xFFFFFFFF)...)
				body = append(body, it...)
				body = append(body, 0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0)
			} else {
				body = append(body, le.AppendUint32([]byte{0xFE, 0xFF, 0x00, 0xE0}, uint32(len(it)))...)
				body = append(body, it...)
			}
		}
		if !undefined {
			return elem(group, element, "SQ", body)
		}
		b := le.AppendUint16(le.AppendUint16(nil, group), element)
		b = le.AppendUint32(append(b, 'S', 'Q', 0, 0), 0xFFFFFFFF)
		return append(append(b, body...), 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0)
	}

	var items [][]byte
	for _, r := range records {
		inUse := uint16(0xFFFF)
		if r.unused {
			inUse = 0
		}
		it := slices.Concat(
			elem(0x0004, 0x1400, "UL", ul(0)),
			elem(0x0004, 0x1410, "US", us(inUse)),
			elem(0x0004, 0x1420, "UL", ul(0)),
			elem(0x0004, 0x1430, "CS", []byte(r.typ)))
		if r.fileID != "" {
			it = append(it, elem(0x0004, 0x1500, "CS", []byte(r.fileID))...)
		}
		if r.icon {
			icon := slices.Concat(
				elem(0x0028, 0x0010, "US", us(4)),
				elem(0x0028, 0x0011, "US", us(4)),
				elem(0x7FE0, 0x0010, "OB", make([]byte, 16)))
			it = append(it, wrap(0x0088, 0x0200, icon)...)
		}
		items = append(items, it)
	}
	data := slices.Concat(
		elem(0x0004, 0x1130, "CS", []byte("TEST")),
		elem(0x0004, 0x1200, "UL", ul(0)),
		elem(0x0004, 0x1202, "UL", ul(0)),
		elem(0x0004, 0x1212, "US", us(0)),
		wrap(0x0004, 0x1220, items...))
	meta := slices.Concat(
		elem(0x0002, 0x0001, "OB", []byte{0, 1}),
		elem(0x0002, 0x0002, "UI", []byte("1.2.840.10008.1.3.10")),
		elem(0x0002, 0x0003, "UI", []byte("1.2.3.4.5")),
		elem(0x0002, 0x0010, "UI", []byte("1.2.840.10008.1.2.1")))
	return slices.Concat(make([]byte, 128), []byte("DICM"),
		elem(0x0002, 0x0000, "UL", ul(uint32(len(meta)))), meta, data)
}

// writeMedia writes a medium: the files of a synthetic study of two series
// as DICOM/S1/IM1..., DICOM/S2/IM1..., a DICOMDIR listing them (records of
// undefined length unless defined), and files of the medium's own that
// DICOMDIR does not list. It returns the medium's folder, the names
// DICOMDIR lists and the names it does not.
func writeMedia(t *testing.T, defined bool) (root string, listed, other []string) {
	t.Helper()
	res := writeSynthetic(t, synthetic.Options{Series: 2, Images: 2})
	root = t.TempDir()
	records := []dirRecord{{typ: "PATIENT"}, {typ: "STUDY"}}
	for i, f := range res.Files {
		if i%2 == 0 {
			records = append(records, dirRecord{typ: "SERIES"})
		}
		rel := fmt.Sprintf("DICOM/S%d/IM%d", i/2+1, i%2+1)
		writeFile(t, filepath.Join(root, rel), readFile(t, f))
		listed = append(listed, rel)
		records = append(records, dirRecord{typ: "IMAGE", fileID: strings.ReplaceAll(rel, "/", `\`), icon: i == 0})
	}
	records = append(records,
		dirRecord{typ: "PRIVATE", fileID: `DICOM\S1\IM1`},              // listed twice: read once
		dirRecord{typ: "IMAGE", fileID: `DICOM\S9\GONE`, unused: true}) // a deleted record
	writeFile(t, filepath.Join(root, "DICOMDIR"), mkDICOMDIR(records, !defined))
	for name, b := range map[string][]byte{
		"AUTORUN.INF":        []byte("[autorun]\nopen=VIEWER\\VIEWER.EXE\n"),
		"VIEWER/VIEWER.EXE":  []byte("MZ\x90\x00"),
		"DICOM/S1/EXTRA":     readFile(t, res.Files[0]), // a copy DICOMDIR does not list
		"DICOM/S1/.DS_Store": []byte("x"),
	} {
		writeFile(t, filepath.Join(root, name), b)
	}
	other = []string{"AUTORUN.INF", "DICOM/S1/.DS_Store", "DICOM/S1/EXTRA", "DICOMDIR", "VIEWER/VIEWER.EXE"}
	return root, listed, other
}

// paths joins each name to root.
func paths(root string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(root, filepath.FromSlash(n))
	}
	slices.Sort(out)
	return out
}

func TestDICOMDIR(t *testing.T) {
	for _, defined := range []bool{false, true} {
		t.Run(fmt.Sprintf("defined lengths %v", defined), func(t *testing.T) {
			root, listed, other := writeMedia(t, defined)
			s := scan(t, root)
			if len(s.Problems) > 0 || len(s.Studies) != 1 {
				t.Fatalf("problems %v, %d studies; want none and one", s.Problems, len(s.Studies))
			}
			if got := rels(s); !slices.Equal(got, listed) {
				t.Errorf("names %q, want those DICOMDIR lists, %q", got, listed)
			}
			if want := paths(root, other); !slices.Equal(s.Skipped, want) {
				t.Errorf("skipped\n%q\nwant\n%q", s.Skipped, want)
			}
		})
	}
}

func TestDICOMDIRNamed(t *testing.T) {
	root, listed, _ := writeMedia(t, false)
	// Naming the DICOMDIR names its medium.
	if got := rels(scan(t, filepath.Join(root, "DICOMDIR"))); !slices.Equal(got, listed) {
		t.Errorf("DICOMDIR named: names %q, want %q", got, listed)
	}
	// With other paths, the medium's names start with its folder's name.
	other := writeSynthetic(t, synthetic.Options{Images: 1, PatientName: "OTHER^ONE"})
	s := scan(t, root, other.Files[0])
	want := []string{filepath.Base(other.Files[0])}
	for _, l := range listed {
		want = append(want, filepath.Base(root)+"/"+l)
	}
	slices.Sort(want)
	if got := rels(s); !slices.Equal(got, want) {
		t.Errorf("with a file: names %q, want %q", got, want)
	}
	// A DICOMDIR below the folder named is skipped, and the folder read.
	parent := t.TempDir()
	if err := os.Rename(root, filepath.Join(parent, "cd")); err != nil {
		t.Fatal(err)
	}
	root = filepath.Join(parent, "cd")
	s = scan(t, parent)
	if p := problem(s, filepath.Join(root, "AUTORUN.INF")); p == nil {
		t.Errorf("DICOMDIR below the top: AUTORUN.INF is no problem, want it read as in any folder")
	}
	if !slices.Contains(s.Skipped, filepath.Join(root, "DICOMDIR")) {
		t.Errorf("DICOMDIR below the top not skipped: %q", s.Skipped)
	}
}

// TestDICOMDIRFileSystemNames reads media as file systems show them: in
// lower case, and with ISO 9660 versions.
func TestDICOMDIRFileSystemNames(t *testing.T) {
	tests := []struct {
		name   string
		rename func(string) string // an element of a name on the medium
		want   func(string) string // the element in File.Rel
	}{
		{"lower case", strings.ToLower, strings.ToLower},
		{"versions", func(s string) string {
			if strings.HasPrefix(s, "IM") || s == "DICOMDIR" {
				return s + ";1"
			}
			return s
		}, nil},
		{"dot and version", func(s string) string {
			if strings.HasPrefix(s, "IM") {
				return s + ".;1"
			}
			return s
		}, nil},
		{"mixed", func(s string) string {
			if s == "DICOMDIR" || s == "S1" {
				return strings.ToLower(s)
			}
			return s
		}, func(s string) string {
			if s == "S1" {
				return "s1"
			}
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, listed, _ := writeMedia(t, false)
			root := t.TempDir()
			err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
				if err != nil || p == src {
					return err
				}
				rel, _ := filepath.Rel(src, p)
				parts := strings.Split(rel, string(filepath.Separator))
				for i := range parts {
					parts[i] = tt.rename(parts[i])
				}
				if d.IsDir() {
					return os.MkdirAll(filepath.Join(root, filepath.Join(parts...)), 0o755)
				}
				return os.Rename(p, filepath.Join(root, filepath.Join(parts...)))
			})
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(listed)
			if tt.want != nil {
				for i, l := range want {
					parts := strings.Split(l, "/")
					for j := range parts {
						parts[j] = tt.want(parts[j])
					}
					want[i] = strings.Join(parts, "/")
				}
			}
			slices.Sort(want)
			s := scan(t, root)
			if len(s.Problems) > 0 {
				t.Fatalf("problems: %v", s.Problems)
			}
			if got := rels(s); !slices.Equal(got, want) {
				t.Errorf("names %q, want %q", got, want)
			}
			for _, st := range s.Studies {
				for _, f := range st.Files {
					if _, err := os.Stat(f.Path); err != nil {
						t.Errorf("file %s: %v", f.Rel, err)
					}
				}
			}
		})
	}
}

func TestDICOMDIRMissingFile(t *testing.T) {
	root, listed, _ := writeMedia(t, false)
	gone := filepath.Join(root, "DICOM", "S2", "IM1")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	s := scan(t, root)
	p := problem(s, gone)
	if p == nil || !errors.Is(p, study.ErrNotOnMedium) || !strings.Contains(p.Error(), "DICOMDIR record 7, IMAGE") {
		t.Errorf("missing file: %v, want it listed but missing, naming its record; problems %v", p, s.Problems)
	}
	if got, want := rels(s), slices.DeleteFunc(slices.Clone(listed), func(l string) bool { return l == "DICOM/S2/IM1" }); !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}

	// A name that matches two files but for case is a problem too.
	root, _, _ = writeMedia(t, false)
	writeFile(t, filepath.Join(root, "DICOM", "S1", "im1"), []byte("x"))
	if err := os.Rename(filepath.Join(root, "DICOM", "S1", "IM1"), filepath.Join(root, "DICOM", "S1", "Im1")); err != nil {
		t.Fatal(err)
	}
	s = scan(t, root)
	if p := problem(s, filepath.Join(root, "DICOM", "S1", "IM1")); p == nil || !strings.Contains(p.Error(), "both match") {
		t.Errorf("two files for one name: %v, want a problem; problems %v", p, s.Problems)
	}
}

// A file that DICOMDIR lists may be a symlink on the medium, but not one
// that leads out of it: the medium's author does not choose what of the
// sending computer's disk is sent.
func TestDICOMDIRSymlinkOutside(t *testing.T) {
	root, listed, _ := writeMedia(t, false)
	elsewhere := writeFile(t, filepath.Join(t.TempDir(), "secret.dcm"), readFile(t, filepath.Join(root, "DICOM", "S2", "IM1")))
	link := filepath.Join(root, "DICOM", "S2", "IM1")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	s := scan(t, root)
	if p := problem(s, link); p == nil || !errors.Is(p, study.ErrOutsideRoot) {
		t.Errorf("symlink out of the medium: %v, want ErrOutsideRoot; problems %v", p, s.Problems)
	}
	if got := rels(s); slices.Contains(got, "DICOM/S2/IM1") {
		t.Errorf("the file out of the medium was read: %q", got)
	}
	// One inside the medium is followed.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "DICOM", "COPY"), readFile(t, elsewhere))
	if err := os.Symlink(filepath.Join("..", "COPY"), link); err != nil {
		t.Fatal(err)
	}
	if s := scan(t, root); len(s.Problems) > 0 || !slices.Equal(rels(s), listed) {
		t.Errorf("symlink inside the medium: problems %v, names %q", s.Problems, rels(s))
	}
}

// TestDICOMDIRRefused checks that a DICOMDIR that cannot be followed stops
// the scan with an error naming it, and the record at fault.
func TestDICOMDIRRefused(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Images: 1})
	image := readFile(t, res.Files[0])
	records := func(fileIDs ...string) []byte {
		rs := []dirRecord{{typ: "PATIENT"}, {typ: "STUDY"}, {typ: "SERIES"}}
		for _, id := range fileIDs {
			rs = append(rs, dirRecord{typ: "IMAGE", fileID: id})
		}
		return mkDICOMDIR(rs, true)
	}
	good := records(`IM1`)
	// A Referenced File ID of 8 KiB, more than a record's value may be.
	long := bytes.Replace(mkDICOMDIR([]dirRecord{{typ: "IMAGE", fileID: "IM1"}}, true),
		[]byte{0x04, 0x00, 0x00, 0x15, 'C', 'S', 4, 0}, []byte{0x04, 0x00, 0x00, 0x15, 'C', 'S', 0x00, 0x20}, 1)
	// A DICOMDIR cut before its Directory Record Sequence.
	noRecords := mkDICOMDIR(nil, true)
	noRecords = noRecords[:bytes.Index(noRecords, []byte{0x04, 0x00, 0x20, 0x12, 'S', 'Q'})]
	tests := []struct {
		name     string
		dicomdir []byte
		want     error
		record   int
		message  string
	}{
		{"parent", records(`IM1`, `..\..\etc\passwd`), study.ErrOutsideFolder, 5, `its Referenced File ID "..\..\etc\passwd" names a file outside`},
		{"parent inside", records(`DICOM\..\..\IM1`), study.ErrOutsideFolder, 4, `".." component`},
		{"absolute", records(`\etc\passwd`), study.ErrOutsideFolder, 4, "absolute"},
		{"slash", records(`DICOM/../../IM1`), study.ErrOutsideFolder, 4, "slash"},
		{"drive", records(`C:\WINDOWS\IM1`), study.ErrOutsideFolder, 4, "colon"},
		{"empty component", records(`DICOM\\IM1`), study.ErrMalformed, 4, "empty"},
		{"control character", records("IM\x01"), study.ErrMalformed, 4, "control"},
		{"no file", records(), nil, 0, "lists no file"},
		{"not DICOM", []byte("DICOMDIR\r\n"), study.ErrNotDICOM, 0, "DICM"},
		{"an image", image, nil, 0, "not a DICOMDIR"},
		{"truncated", good[:len(good)-28], study.ErrTruncated, 4, "ends inside the record"},
		{"value past its record", long, study.ErrMalformed, 1, "more than the 4096"},
		{"no records", noRecords, study.ErrMalformed, 0, "no Directory Record Sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "IM1"), image)
			dicomdir := writeFile(t, filepath.Join(root, "DICOMDIR"), tt.dicomdir)
			_, err := study.ScanPaths(context.Background(), []string{root}, study.ScanOptions{})
			var de *study.DICOMDIRError
			if !errors.As(err, &de) {
				t.Fatalf("scan: %v, want a DICOMDIRError", err)
			}
			if de.Path != dicomdir || de.Record != tt.record || !strings.HasPrefix(err.Error(), dicomdir) {
				t.Errorf("error %q: path %s, record %d; want %s, record %d", err, de.Path, de.Record, dicomdir, tt.record)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %q, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q, want it to say %q", err, tt.message)
			}
			if tt.record > 0 && !strings.Contains(err.Error(), fmt.Sprintf("record %d (", tt.record)) {
				t.Errorf("error %q does not name record %d and its type", err, tt.record)
			}
		})
	}
}

// TestDICOMDIRRealCT reads media that dcmtk's dcmmkdir made of the real CT
// series, as a CD burner would.
func TestDICOMDIRRealCT(t *testing.T) {
	src := filepath.Join(testenv.SharedDICOM(t), "ct-pancreas", "CT_series")
	if _, err := exec.LookPath("dcmmkdir"); err != nil {
		testenv.Missing(t, "dcmmkdir (Debian dcmtk) is not installed: %v", err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	// ISO 9660 names: at most 8 upper-case letters and digits.
	base := t.TempDir()
	var listed []string
	for i, e := range entries {
		rel := fmt.Sprintf("IMAGES/IM%06d", i+1)
		writeFile(t, filepath.Join(base, rel), readFile(t, filepath.Join(src, e.Name())))
		listed = append(listed, rel)
	}
	// The series is implicit VR, which the general purpose profile does
	// not expect (-Nxc), and lacks Study ID, which DICOMDIR needs (+I).
	mkdir := exec.Command("dcmmkdir", "-q", "-Nxc", "+I", "+r", "IMAGES")
	mkdir.Dir = base
	if out, err := mkdir.CombinedOutput(); err != nil {
		t.Fatalf("dcmmkdir: %v\n%s", err, out)
	}
	dicomdir := readFile(t, filepath.Join(base, "DICOMDIR"))
	writeFile(t, filepath.Join(base, "AUTORUN.INF"), []byte("[autorun]\n"))
	writeFile(t, filepath.Join(base, "VIEWER", "README.TXT"), []byte("viewer\n"))

	// medium links the files of base into a new folder, each name
	// element renamed, with the DICOMDIR given.
	medium := func(t *testing.T, rename func(string) string, dicomdirBytes []byte) string {
		root := t.TempDir()
		err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err != nil || p == base {
				return err
			}
			rel, _ := filepath.Rel(base, p)
			parts := strings.Split(rel, string(filepath.Separator))
			for i := range parts {
				parts[i] = rename(parts[i])
			}
			to := filepath.Join(root, filepath.Join(parts...))
			switch {
			case d.IsDir():
				return os.Mkdir(to, 0o755)
			case d.Name() == "DICOMDIR":
				return os.WriteFile(to, dicomdirBytes, 0o644)
			}
			return os.Link(p, to)
		})
		if err != nil {
			t.Fatal(err)
		}
		return root
	}
	same := func(s string) string { return s }
	version := func(s string) string {
		if s == "IMAGES" || s == "VIEWER" {
			return s
		}
		return s + ";1"
	}

	t.Run("as made", func(t *testing.T) {
		root := medium(t, same, dicomdir)
		s := scan(t, root)
		if len(s.Problems) > 0 || len(s.Studies) != 1 || s.Studies[0].Summary.Files != 134 {
			t.Fatalf("problems %v, %d studies; want none and one of 134 files", s.Problems, len(s.Studies))
		}
		if got := rels(s); !slices.Equal(got, listed) {
			t.Errorf("names %q..., want %q...", got[:min(3, len(got))], listed[:3])
		}
		if want := paths(root, []string{"AUTORUN.INF", "DICOMDIR", "VIEWER/README.TXT"}); !slices.Equal(s.Skipped, want) {
			t.Errorf("skipped %q, want %q", s.Skipped, want)
		}
		want := []study.Media{{DICOMDIR: filepath.Join(root, "DICOMDIR"), Listed: 134, Unlisted: 3}}
		if !slices.Equal(s.Media, want) {
			t.Errorf("media %+v, want %+v", s.Media, want)
		}
	})
	t.Run("lower case", func(t *testing.T) {
		s := scan(t, medium(t, strings.ToLower, dicomdir))
		if len(s.Problems) > 0 || len(rels(s)) != 134 || rels(s)[0] != "images/im000001" {
			t.Errorf("problems %v, names %q...; want 134 files, in lower case", s.Problems, rels(s)[:min(1, len(rels(s)))])
		}
	})
	t.Run("versions", func(t *testing.T) {
		s := scan(t, medium(t, version, dicomdir))
		if got := rels(s); len(s.Problems) > 0 || !slices.Equal(got, listed) {
			t.Errorf("problems %v, names %q...; want the names DICOMDIR lists", s.Problems, got[:min(3, len(got))])
		}
	})
	t.Run("missing file", func(t *testing.T) {
		root := medium(t, same, dicomdir)
		gone := filepath.Join(root, "IMAGES", "IM000007")
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		s := scan(t, root)
		if p := problem(s, gone); len(s.Problems) != 1 || p == nil || !errors.Is(p, study.ErrNotOnMedium) {
			t.Errorf("problems %v, want %s listed but missing", s.Problems, gone)
		}
	})
	t.Run("parent", func(t *testing.T) {
		bad := replaceOnce(t, dicomdir, `IMAGES\IM000003`, `..\IMAGES\IM003`)
		_, err := study.ScanPaths(context.Background(), []string{medium(t, same, bad)}, study.ScanOptions{})
		var de *study.DICOMDIRError
		if !errors.As(err, &de) || !errors.Is(err, study.ErrOutsideFolder) || de.Type != "IMAGE" || !strings.Contains(err.Error(), `..\IMAGES\IM003`) {
			t.Errorf("scan: %v, want the record naming ..\\IMAGES\\IM003 refused", err)
		}
	})
}

// FuzzReadDICOMDIR reads arbitrary bytes as a DICOMDIR. Seeds: DICOMDIRs of
// undefined and defined lengths, with icons, and cut short.
func FuzzReadDICOMDIR(f *testing.F) {
	records := []dirRecord{
		{typ: "PATIENT"}, {typ: "STUDY"}, {typ: "SERIES"},
		{typ: "IMAGE", fileID: `DICOM\S1\IM1`, icon: true},
		{typ: "SR DOCUMENT", fileID: `DICOM\S2\SR1`},
		{typ: "IMAGE", fileID: `DICOM\S1\IM2`, unused: true},
	}
	var seeds [][]byte
	for _, undefined := range []bool{true, false} {
		b := mkDICOMDIR(records, undefined)
		seeds = append(seeds, b, b[:len(b)-9], b[:len(b)/2])
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := study.ReadDICOMDIR(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		for _, id := range ids {
			for el := range strings.SplitSeq(id, "/") {
				if el == "" || el == "." || el == ".." || strings.ContainsAny(el, `\:`) {
					t.Errorf("file ID %q accepted", id)
				}
			}
		}
	})
}

// TestReadDICOMDIR checks the seeds of FuzzReadDICOMDIR read as written.
func TestReadDICOMDIR(t *testing.T) {
	for _, undefined := range []bool{true, false} {
		b := mkDICOMDIR([]dirRecord{
			{typ: "PATIENT"},
			{typ: "IMAGE", fileID: `DICOM\S1\IM1`, icon: true},
			{typ: "SR DOCUMENT", fileID: `DICOM\S2\SR1 `},
			{typ: "IMAGE", fileID: `DICOM\S1\IM2`, unused: true},
		}, undefined)
		ids, err := study.ReadDICOMDIR(bytes.NewReader(b), int64(len(b)))
		if want := []string{"DICOM/S1/IM1", "DICOM/S2/SR1"}; err != nil || !slices.Equal(ids, want) {
			t.Errorf("undefined lengths %v: %q, %v; want %q", undefined, ids, err, want)
		}
	}
}
