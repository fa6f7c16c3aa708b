package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"imageshare/internal/testenv"
	"imageshare/study"

	"imageshare/internal/dataset"
)

var (
	testChanges = Changes{PatientID: "MRN-LOCAL-1", IssuerOfPatientID: "TRAUMA-CENTER",
		AccessionNumber: "ACC-LOCAL-1", PatientName: "TRAUMA^ALPHA"}
	testMod = Modification{Time: time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC), System: "IMAGESHARE",
		Source: "Klinikum Süd", Reason: "COERCE"}
	testDT = "20261128093000.000000+0000"
)

// changed lists the attributes of c, by dcmdump's tag, with their values.
func changedAttributes(c Changes) map[string]string {
	m := map[string]string{}
	for _, t := range targets {
		if v := t.value(&c); v != "" {
			m[fmt.Sprintf("%04x,%04x", t.tag.group(), t.tag.element())] = v
		}
	}
	return m
}

// realFile is a file of the shared data and what Coerce should make of it.
type realFile struct {
	path, rel, ts string
	want          error // what Coerce's error wraps; nil: it succeeds
	headerless    bool  // no preamble and "DICM": Coerce adds them
}

// realFiles lists the format zoo, the first file of each of the other
// folders of the shared data, and the library's test files.
func realFiles(t *testing.T) []realFile {
	shared := testenv.SharedDICOM(t)
	manifests, err := filepath.Glob(filepath.Join(shared, "format-zoo", "*", "MANIFEST.tsv"))
	if err != nil || len(manifests) == 0 {
		t.Fatalf("no MANIFEST.tsv in %s/format-zoo: %v", shared, err)
	}
	for _, dir := range []string{"ct-pancreas", "mr-fmri-small-files", "mr-t1-structural"} {
		manifests = append(manifests, filepath.Join(shared, dir, "MANIFEST.tsv"))
	}
	var files []realFile
	for _, m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
		if !strings.Contains(m, "format-zoo") {
			lines = lines[:1]
		}
		for _, line := range lines {
			col := strings.Split(line, "\t")
			if len(col) < 13 {
				t.Fatalf("%s: short line %q", m, line)
			}
			col = append(col, "") // the notes, which may be cut with the trailing tab
			f := realFile{path: filepath.Join(filepath.Dir(m), col[0]), ts: col[6]}
			f.rel, _ = filepath.Rel(shared, f.path)
			switch {
			case strings.HasPrefix(col[6], "(no meta)"), strings.Contains(col[13], "needs-force"):
				// No preamble and DICM prefix: pydicom reads them only
				// when forced. Some have a meta group, some not: Coerce
				// gives them what they lack.
				f.headerless = true
			case col[3] != "0":
				f.want = ErrTruncated
			}
			files = append(files, f)
		}
	}
	lib, _ := filepath.Glob(filepath.Join(testenv.LibraryTestdata(t), "*.dcm"))
	if len(lib) == 0 {
		t.Fatal("no test files in github.com/suyashkumar/dicom's testdata")
	}
	for _, p := range lib {
		files = append(files, realFile{path: p, rel: "suyashkumar/" + filepath.Base(p), ts: "(library)"})
	}
	return files
}

// variants converts a real CT slice (implicit VR) with dcmconv into the
// other syntaxes, with sequences of undefined length and group lengths.
func variants(t *testing.T, dir string) []realFile {
	shared := testenv.SharedDICOM(t)
	src := filepath.Join(shared, "ct-pancreas", "CT_series", "1-001.dcm")
	sets := []struct {
		name string
		args []string
	}{
		{"explicit-le-undefined-lengths-group-lengths", []string{"+te", "-e", "+g"}},
		{"explicit-be-group-lengths", []string{"+tb", "+g"}},
		{"implicit-undefined-lengths", []string{"+ti", "-e"}},
		{"deflated", []string{"+td"}},
		{"deflated-undefined-lengths-group-lengths", []string{"+td", "-e", "+g"}},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []realFile
	for _, s := range sets {
		p := filepath.Join(dir, s.name+".dcm")
		run(t, "dcmconv", append(s.args, src, p)...)
		files = append(files, realFile{path: p, rel: "dcmconv/" + s.name, ts: strings.Join(s.args, " ")})
	}
	// A file already reconciled once, its Original Attributes Sequence of
	// undefined length, and one of defined length.
	for _, undefined := range []bool{true, false} {
		var b bytes.Buffer
		if err := Coerce(bytes.NewReader(readFile(t, src)), &b, Changes{PatientID: "EARLIER"}, testMod); err != nil {
			t.Fatal(err)
		}
		name := "coerced-before"
		args := []string{"+e"}
		if undefined {
			name, args = "coerced-before-undefined-lengths", []string{"-e"}
		}
		once := filepath.Join(dir, name+".tmp")
		writeFile(t, once, b.Bytes())
		p := filepath.Join(dir, name+".dcm")
		run(t, "dcmconv", append(args, once, p)...)
		files = append(files, realFile{path: p, rel: "dcmconv/" + name, ts: strings.Join(args, " ")})
	}
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func coerce(t testing.TB, in []byte, c Changes, m Modification) ([]byte, error) {
	t.Helper()
	var b bytes.Buffer
	err := Coerce(bytes.NewReader(in), &b, c, m)
	return b.Bytes(), err
}

// TestCoerceRealFiles coerces every file of the shared data and checks the
// copy with dcmtk: it reads without a new warning; the new values are at
// the top level and the old ones in a new item of (0400,0561); everything
// else, pixel data byte for byte, is as it was; coercing again adds a
// second item. Files Coerce must refuse are refused. The study package
// then reads the copies as it read the originals, under the new patient ID.
func TestCoerceRealFiles(t *testing.T) {
	tool(t, "dcmdump")
	tmp := t.TempDir()
	files := append(realFiles(t), variants(t, filepath.Join(tmp, "variants"))...)
	inDir, outDir := filepath.Join(tmp, "in"), filepath.Join(tmp, "out")
	var mu sync.Mutex
	coerced := map[string]bool{} // by name under inDir and outDir
	seen := map[string]bool{}    // transfer syntaxes coerced

	t.Run("files", func(t *testing.T) {
		for i, f := range files {
			name := fmt.Sprintf("%03d/%s", i, filepath.Base(f.path))
			t.Run(f.rel, func(t *testing.T) {
				t.Parallel()
				in := readFile(t, f.path)
				out, err := coerce(t, in, testChanges, testMod)
				if f.want != nil {
					if !errors.Is(err, f.want) {
						t.Fatalf("Coerce: %v, want an error wrapping %q", err, f.want)
					}
					t.Logf("refused as it should be: %v", err)
					return
				}
				if err != nil {
					t.Fatalf("Coerce: %v", err)
				}
				inPath, outPath := filepath.Join(inDir, name), filepath.Join(outDir, name)
				if err := os.MkdirAll(filepath.Dir(inPath), 0o755); err != nil {
					t.Fatal(err)
				}
				// A copy, not a symlink: the study package refuses links
				// that lead out of the folder it reads.
				writeFile(t, inPath, in)
				writeFile(t, outPath, out)
				checkCoerced(t, in, inPath, outPath, filepath.Join(tmp, "raw", name), f.headerless)
				mu.Lock()
				coerced[name] = true
				seen[f.ts] = true
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	var tss []string
	for ts := range seen {
		tss = append(tss, ts)
	}
	slices.Sort(tss)
	t.Logf("coerced %d files; transfer syntaxes: %s", len(coerced), strings.Join(tss, "; "))

	// The study package reads every copy it read the original of.
	scan := func(dir string) (ok map[string]string, problems map[string]bool) {
		s, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
		if err != nil {
			t.Fatalf("ScanPaths %s: %v", dir, err)
		}
		ok, problems = map[string]string{}, map[string]bool{}
		for _, st := range s.Studies {
			for _, f := range st.Files {
				ok[f.Rel] = st.Summary.PatientID
			}
		}
		for _, p := range s.Problems {
			rel, _ := filepath.Rel(dir, p.Path)
			problems[filepath.ToSlash(rel)] = true
		}
		return ok, problems
	}
	inOK, _ := scan(inDir)
	outOK, outProblems := scan(outDir)
	if len(inOK) == 0 {
		t.Fatal("the study package read none of the originals")
	}
	for name := range inOK {
		id, ok := outOK[name]
		switch {
		case !ok:
			t.Errorf("study.ScanPaths reads %s but not its copy (problem: %v)", name, outProblems[name])
		case id != testChanges.PatientID:
			t.Errorf("study.ScanPaths reads patient ID %q in the copy of %s, want %q", id, name, testChanges.PatientID)
		}
	}
	t.Logf("study.ScanPaths read %d of the originals, and their copies under the new patient ID", len(inOK))
}

// checkCoerced checks the copy at outPath of the file at inPath, whose
// bytes are in.
func checkCoerced(t *testing.T, in []byte, inPath, outPath, raw string, headerless bool) {
	t.Helper()
	for _, d := range []string{"in", "out"} {
		if err := os.MkdirAll(filepath.Join(raw, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before, inWarnings := dcmdump(t, inPath, "+W", filepath.Join(raw, "in"))
	after, outWarnings := dcmdump(t, outPath, "+W", filepath.Join(raw, "out"))
	if outWarnings != inWarnings {
		t.Errorf("dcmdump warns about the copy:\n%s\nabout the original:\n%s", outWarnings, inWarnings)
	}

	// The new values at the top level, the old ones in the new item.
	want := changedAttributes(testChanges)
	charset, _ := before.text("0008,0005")
	oldItems := 0
	if s := before.get("0400,0561"); s != nil {
		oldItems = len(s.kids)
	}
	seq := after.get("0400,0561")
	if seq == nil || len(seq.kids) != oldItems+1 {
		t.Fatalf("(0400,0561) in the copy: %+v, want %d items", seq, oldItems+1)
	}
	item := seq.kids[oldItems]
	modified := item.get("0400,0550")
	if modified == nil || len(modified.kids) != 1 {
		t.Fatalf("(0400,0550) in the new item: %+v, want one item", modified)
	}
	originals := modified.kids[0]
	changed := 0
	// What changes with the patient ID and the accession number.
	oldID, _ := before.text("0010,0020")
	if strings.TrimSpace(oldID) != "" && strings.TrimSpace(oldID) != testChanges.PatientID {
		changed++ // (0010,1002), kept as it was, or empty
		if o := originals.get("0010,1002"); o == nil || before.get("0010,1002") == nil && len(o.kids) != 0 {
			t.Errorf("original (0010,1002) %+v, want it as it was", o)
		}
		opids := after.get("0010,1002")
		n := 0
		if b := before.get("0010,1002"); b != nil {
			n = len(b.kids)
		}
		if opids == nil || len(opids.kids) != n+1 {
			t.Fatalf("(0010,1002) in the copy: %+v, want %d items", opids, n+1)
		}
		last := opids.kids[n]
		if v, _ := last.text("0010,0020"); v != oldID {
			t.Errorf("the new item of (0010,1002) holds patient ID %q, want %q", v, oldID)
		}
		if v, _ := last.text("0010,0022"); v != "TEXT" {
			t.Errorf("the new item of (0010,1002) holds type %q, want TEXT", v)
		}
	}
	for _, tag := range []string{"0010,0024", "0008,0051", "0040,0275"} {
		if before.get(tag) == nil {
			continue
		}
		changed++
		if originals.get(tag) == nil {
			t.Errorf("original (%s) not in (0400,0550)", tag)
		}
	}
	for tag, v := range want {
		if got, _ := after.text(tag); got != v {
			t.Errorf("(%s) = %q in the copy, want %q", tag, got, v)
		}
		old, _ := before.text(tag)
		if strings.TrimSpace(old) == v {
			continue
		}
		changed++
		if got, ok := originals.text(tag); !ok || got != old {
			t.Errorf("original (%s) = %q, %v in (0400,0550), want %q", tag, got, ok, old)
		}
	}
	if len(originals.kids) != changed {
		t.Errorf("(0400,0550) holds %d attributes, want the %d that changed", len(originals.kids), changed)
	}
	source := "Klinikum Sud"
	if strings.TrimSpace(charset) == "ISO_IR 192" {
		source = testMod.Source
	}
	for tag, v := range map[string]string{"0400,0562": testDT, "0400,0563": "IMAGESHARE", "0400,0564": source, "0400,0565": "COERCE"} {
		if got, _ := item.text(tag); got != v {
			t.Errorf("(%s) = %q in the new item, want %q", tag, got, v)
		}
	}

	// Everything else as it was.
	skip := map[string]bool{"0400,0561": true, "0010,1002": true, "0010,0024": true, "0008,0051": true, "0040,0275": true, "0040,0000": true}
	for tag := range want {
		skip[tag] = true
		skip[tag[:5]+"0000"] = true // group lengths
	}
	skip["0400,0000"] = true
	var b, a []*dump
	for _, k := range before.kids {
		if !skip[k.tag] {
			b = append(b, k)
		}
	}
	for _, k := range after.kids {
		if !skip[k.tag] {
			a = append(a, k)
		}
	}
	if diff := compareDumps(b, a, ""); diff != "" {
		t.Errorf("the copy differs beyond the changed attributes: %s", diff)
	}
	rawIn, _ := filepath.Glob(filepath.Join(raw, "in", "*"))
	rawOut, _ := filepath.Glob(filepath.Join(raw, "out", "*"))
	if before.get("7fe0,0010") != nil && len(rawIn) == 0 {
		t.Errorf("dcmdump +W wrote no pixel data of the original")
	}
	if len(rawIn) != len(rawOut) {
		t.Errorf("dcmdump +W wrote %d pixel data files of the original, %d of the copy", len(rawIn), len(rawOut))
	}
	for i := range min(len(rawIn), len(rawOut)) {
		if !bytes.Equal(readFile(t, rawIn[i]), readFile(t, rawOut[i])) {
			t.Errorf("pixel data %s differs in the copy", filepath.Base(rawIn[i]))
		}
	}

	// Nothing to change: the same bytes, after the header a file without
	// one gets. The values as they are: the same bytes too.
	if headerless {
		if b, err := os.ReadFile(outPath); err != nil || string(b[128:132]) != "DICM" {
			t.Errorf("the copy of a file without DICM prefix has none: %v", err)
		}
		in, _ = coerce(t, in, Changes{}, testMod)
	}
	if out, err := coerce(t, in, Changes{}, testMod); err != nil || !bytes.Equal(out, in) {
		t.Errorf("Coerce with no changes: %v; the same bytes: %v", err, bytes.Equal(out, in))
	}
	var same Changes
	for _, tg := range targets {
		v, _ := before.text(fmt.Sprintf("%04x,%04x", tg.tag.group(), tg.tag.element()))
		if v = strings.TrimSpace(v); v != "" && checkValue(tg.tag, tg.vr, v) == nil {
			switch tg.tag {
			case tagPatientID:
				same.PatientID = v
			case tagIssuerOfPatientID:
				same.IssuerOfPatientID = v
			case tagAccessionNumber:
				same.AccessionNumber = v
			case tagPatientName:
				same.PatientName = v
			}
		}
	}
	if out, err := coerce(t, in, same, testMod); err != nil || !bytes.Equal(out, in) {
		t.Errorf("Coerce to the values the file has (%+v): %v; the same bytes: %v", same, err, bytes.Equal(out, in))
	}

	// Again: a second item, recording the first change.
	out := readFile(t, outPath)
	twice, err := coerce(t, out, Changes{PatientID: "MRN-LOCAL-2"}, testMod)
	if err != nil {
		t.Fatalf("coercing the copy: %v", err)
	}
	again := outPath + ".again"
	writeFile(t, again, twice)
	d, warnings := dcmdump(t, again)
	if warnings != inWarnings {
		t.Errorf("dcmdump warns about the copy coerced twice:\n%s", warnings)
	}
	seq = d.get("0400,0561")
	if seq == nil || len(seq.kids) != oldItems+2 {
		t.Fatalf("(0400,0561) after coercing twice: %+v, want %d items", seq, oldItems+2)
	}
	last := seq.kids[oldItems+1].get("0400,0550")
	// A new ID without an issuer: the first copy's issuer goes too.
	if last == nil || len(last.kids) != 1 || len(last.kids[0].kids) != 3 || last.kids[0].get("0010,1002") == nil || last.kids[0].get("0010,0021") == nil {
		t.Fatalf("the second item's (0400,0550): %+v, want one item with (0010,0020), (0010,0021) and (0010,1002)", last)
	}
	if d.get("0010,0021") != nil {
		t.Errorf("(0010,0021) kept next to a new ID given without an issuer")
	}
	if v, _ := last.kids[0].text("0010,0020"); v != testChanges.PatientID {
		t.Errorf("the second item records patient ID %q, want %q", v, testChanges.PatientID)
	}
	if id, _ := d.text("0010,0020"); id != "MRN-LOCAL-2" {
		t.Errorf("patient ID %q after coercing twice", id)
	}
}

// compareDumps describes the first difference between two lists of
// elements, or returns "".
func compareDumps(a, b []*dump, path string) string {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) {
			var extra *dump
			if i < len(a) {
				extra = a[i]
			} else {
				extra = b[i]
			}
			return fmt.Sprintf("%s: %d elements or items, then %d: (%s) %s", path, len(a), len(b), extra.tag, extra.vr)
		}
		x, y := a[i], b[i]
		p := path + "/" + x.tag
		pixel := x.tag == "7fe0,0010" || x.vr == "pi" // named after the file by dcmdump +W
		if x.tag != y.tag || x.vr != y.vr || x.value != y.value && !pixel {
			return fmt.Sprintf("%s: (%s) %s %q, then (%s) %s %q", p, x.tag, x.vr, x.value, y.tag, y.vr, y.value)
		}
		if d := compareDumps(x.kids, y.kids, p); d != "" {
			return d
		}
	}
	return ""
}

// TestCoerceValues tests the checks of new values, at the boundaries of
// their lengths.
func TestCoerceValues(t *testing.T) {
	latin1 := syntheticFile(t, dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, syntheticOptions{charset: "ISO_IR 100"})
	utf8File := syntheticFile(t, dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, syntheticOptions{charset: "ISO_IR 192"})
	s := strings.Repeat
	pn64 := s("A", 30) + "^" + s("B", 33)
	tests := []struct {
		name string
		file []byte
		c    Changes
		err  string // "" if it succeeds
	}{
		{"patient ID 1", latin1, Changes{PatientID: "1"}, ""},
		{"patient ID 63", latin1, Changes{PatientID: s("1", 63)}, ""},
		{"patient ID 64", latin1, Changes{PatientID: s("1", 64)}, ""},
		{"patient ID 65", latin1, Changes{PatientID: s("1", 65)}, "reconcile: (0010,0020) Patient ID: value too long (65 > 64 characters)"},
		{"patient ID 70", latin1, Changes{PatientID: s("1", 70)}, "reconcile: (0010,0020) Patient ID: value too long (70 > 64 characters)"},
		{"issuer 65", latin1, Changes{PatientID: "1", IssuerOfPatientID: s("I", 65)}, "reconcile: (0010,0021) Issuer of Patient ID: value too long (65 > 64 characters)"},
		{"accession 15", latin1, Changes{AccessionNumber: s("A", 15)}, ""},
		{"accession 16", latin1, Changes{AccessionNumber: s("A", 16)}, ""},
		{"accession 17", latin1, Changes{AccessionNumber: s("A", 17)}, "reconcile: (0008,0050) Accession Number: value too long (17 > 16 characters)"},
		{"name 64", latin1, Changes{PatientName: pn64}, ""},
		{"name 65", latin1, Changes{PatientName: pn64 + "C"}, "reconcile: (0010,0010) Patient's Name: value too long (65 > 64 characters in a component group)"},
		{"name three groups of 64", utf8File, Changes{PatientName: pn64 + "=" + pn64 + "=" + pn64}, ""},
		{"name four groups", latin1, Changes{PatientName: "A=B=C=D"}, "reconcile: (0010,0010) Patient's Name: 4 component groups, at most 3 (alphabetic=ideographic=phonetic)"},
		{"name six components", latin1, Changes{PatientName: "A^B^C^D^E^F"}, "reconcile: (0010,0010) Patient's Name: 6 components, at most 5 (family^given^middle^prefix^suffix)"},
		{"backslash", latin1, Changes{PatientID: `A\B`}, "reconcile: (0010,0020) Patient ID: value contains a backslash, which separates values"},
		{"control character", latin1, Changes{PatientID: "A\nB"}, "reconcile: (0010,0020) Patient ID: value contains control character U+000A"},
		{"spaces", latin1, Changes{PatientID: "   "}, "reconcile: (0010,0020) Patient ID: value is only spaces"},
		{"invalid UTF-8", utf8File, Changes{PatientName: "M\xfcller"}, "reconcile: (0010,0010) Patient's Name: value is not valid UTF-8"},
		{"not ASCII in latin-1", latin1, Changes{PatientName: "MÜLLER^JÜRGEN"}, ""},
		{"C1 control", utf8File, Changes{PatientName: "M\u0085LLER"}, "reconcile: (0010,0010) Patient's Name: value contains control character U+0085"},
		{"birth date", latin1, Changes{PatientBirthDate: "19691231"}, ""},
		{"birth date not a date", latin1, Changes{PatientBirthDate: "19690231"}, "reconcile: (0010,0030) Patient's Birth Date: not a date as YYYYMMDD"},
		{"birth date 9", latin1, Changes{PatientBirthDate: "196912311"}, "reconcile: (0010,0030) Patient's Birth Date: value too long (9 > 8 characters)"},
		{"birth date 7", latin1, Changes{PatientBirthDate: "1969123"}, "reconcile: (0010,0030) Patient's Birth Date: not a date as YYYYMMDD"},
		{"sex", latin1, Changes{PatientSex: "O"}, ""},
		{"sex U", latin1, Changes{PatientSex: "U"}, "reconcile: (0010,0040) Patient's Sex: not M, F or O"},
		{"issuer without ID", latin1, Changes{IssuerOfPatientID: "HOSP"}, "reconcile: (0010,0021) Issuer of Patient ID: an issuer without a Patient ID (0010,0020): the issuer qualifies the local ID"},
		{"not ASCII in UTF-8", utf8File, Changes{PatientName: "MÜLLER^JÜRGEN"}, ""},
		{"64 characters, more bytes, in UTF-8", utf8File, Changes{PatientID: s("Ü", 64)}, ""},
		{"65 characters in UTF-8", utf8File, Changes{PatientID: s("Ü", 65)}, "reconcile: (0010,0020) Patient ID: value too long (65 > 64 characters)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Coerce(bytes.NewReader(tt.file), &out, tt.c, testMod)
			if cerr := tt.c.Check(); tt.err == "" && cerr != nil || tt.err != "" && (cerr == nil || cerr.Error() != tt.err) {
				t.Errorf("Check: %v, want %q", cerr, tt.err)
			}
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Coerce: %v", err)
				}
				return
			}
			var ve *ValueError
			if err == nil || err.Error() != tt.err || !errors.As(err, &ve) {
				t.Fatalf("Coerce: %v, want a *ValueError %q", err, tt.err)
			}
			if out.Len() > 0 {
				t.Errorf("Coerce wrote %d bytes before refusing a value", out.Len())
			}
		})
	}
	t.Run("reason", func(t *testing.T) {
		m := testMod
		m.Reason = "FIX"
		if _, err := coerce(t, latin1, testChanges, m); err == nil || !strings.Contains(err.Error(), "(0400,0565)") {
			t.Errorf("Coerce with reason FIX: %v", err)
		}
	})
}

// TestCoerceTruncated cuts files of each syntax at points inside them.
func TestCoerceTruncated(t *testing.T) {
	shared := testenv.SharedDICOM(t)
	for _, rel := range []string{
		"format-zoo/dcm_qa_ts/In/1.dcm", // explicit VR little endian
		"format-zoo/dcm_qa_ts/In/2.dcm", // implicit
		"format-zoo/dcm_qa_ts/In/3.dcm", // big endian
		"format-zoo/dcm_qa_ts/In/4.dcm", // RLE, encapsulated
		"format-zoo/cornerstone-dicomParser/testImages/deflate/wave_dfl",
		"ct-pancreas/CT_series/1-001.dcm",
	} {
		in := readFile(t, filepath.Join(shared, rel))
		cuts := []int{0, 1, 127, 131, 132, 140, 300, 700, 1000, len(in) / 2, len(in) - 1000, len(in) - 16}
		if !strings.Contains(rel, "deflate") {
			// Not in a deflated file: its writer left 8 bytes after the
			// deflated stream (a CRC and the size, as gzip does), which a
			// reader does not need.
			cuts = append(cuts, len(in)-7, len(in)-1)
		}
		for _, n := range cuts {
			t.Run(fmt.Sprintf("%s/%d", rel, n), func(t *testing.T) {
				_, err := coerce(t, in[:n], testChanges, testMod)
				want := ErrTruncated
				if n < 132 {
					want = ErrNotPart10
				}
				if !errors.Is(err, want) {
					t.Fatalf("Coerce of the first %d of %d bytes: %v, want an error wrapping %q", n, len(in), err, want)
				}
				_, err = coerce(t, in[:n], Changes{}, testMod)
				if !errors.Is(err, want) {
					t.Fatalf("Coerce with no change of the first %d of %d bytes: %v, want an error wrapping %q", n, len(in), err, want)
				}
			})
		}
	}
}
