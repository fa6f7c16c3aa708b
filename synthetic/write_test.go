package synthetic

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imageshare/study"
)

func scanOne(t *testing.T, dir string) *study.Study {
	t.Helper()
	s, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) > 0 || len(s.Studies) != 1 {
		t.Fatalf("problems %v, %d studies; want none and one", s.Problems, len(s.Studies))
	}
	return s.Studies[0]
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, PatientName: "DOE^JANE", PatientID: "MRN42", BirthDate: "19800229", Sex: "F",
		StudyDescription: "CT TRAUMA", Series: 2, Images: 3, Rows: 64, Columns: 48, Seed: 7}
	res, err := Write(opts)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for s := 1; s <= 2; s++ {
		for i := 1; i <= 3; i++ {
			want = append(want, filepath.Join(dir, fmt.Sprintf("series-%03d", s), fmt.Sprintf("IM%05d.dcm", i)))
		}
	}
	if !slices.Equal(res.Files, want) {
		t.Errorf("files %q, want %q", res.Files, want)
	}

	st := scanOne(t, dir)
	sum := st.Summary
	if sum.StudyUID != res.StudyUID || sum.Files != 6 || sum.Bytes != res.Bytes || len(sum.Series) != 2 {
		t.Errorf("summary %+v, want study %s of 6 files, %d bytes, 2 series", sum, res.StudyUID, res.Bytes)
	}
	for i, se := range sum.Series {
		if se.Number != i+1 || se.Images != 3 || se.Modality != "CT" {
			t.Errorf("series %+v", se)
		}
	}
	if sum.PatientName != "DOE^JANE" || sum.PatientID != "MRN42" || sum.BirthDate != "19800229" || sum.Sex != "F" || sum.Description != "CT TRAUMA" {
		t.Errorf("patient and study %+v", sum)
	}
	for _, f := range st.Files {
		if f.SOPClassUID != ctImageStorage || f.TransferSyntaxUID != "1.2.840.10008.1.2.1" || !strings.HasPrefix(f.SOPInstanceUID, "2.25.") {
			t.Errorf("file %+v", f)
		}
	}
	dcmdump(t, res.Files...)
}

func TestWriteDefaults(t *testing.T) {
	res, err := Write(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 10 || res.Bytes < 10*512*512*2 {
		t.Errorf("%d files of %d bytes, want 10 of 512×512", len(res.Files), res.Bytes)
	}
	sum := scanOne(t, filepath.Dir(filepath.Dir(res.Files[0]))).Summary
	if sum.PatientName != "SYNTHETIC^PATIENT" || sum.Files != 10 || len(sum.Series) != 1 {
		t.Errorf("summary %+v", sum)
	}
	dcmdump(t, res.Files...)
}

func TestWriteUTF8(t *testing.T) {
	res, err := Write(Options{Dir: t.TempDir(), PatientName: "MÜLLER^JÜRGEN", Images: 1, Rows: 8, Columns: 8})
	if err != nil {
		t.Fatal(err)
	}
	sum := scanOne(t, filepath.Dir(filepath.Dir(res.Files[0]))).Summary
	if sum.PatientName != "MÜLLER^JÜRGEN" {
		t.Errorf("patient %q", sum.PatientName)
	}
	dcmdump(t, res.Files...)
}

func TestWriteSameSeedSameBytes(t *testing.T) {
	opts := Options{Images: 2, Rows: 32, Columns: 32, Seed: 42}
	write := func(o Options) *Result {
		o.Dir = t.TempDir()
		res, err := Write(o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := write(opts), write(opts)
	for i := range a.Files {
		if !bytes.Equal(readFile(t, a.Files[i]), readFile(t, b.Files[i])) {
			t.Errorf("%s and %s differ", a.Files[i], b.Files[i])
		}
	}
	other := opts
	other.Seed = 43
	c := write(other)
	if c.StudyUID == a.StudyUID || bytes.Equal(readFile(t, a.Files[0]), readFile(t, c.Files[0])) {
		t.Error("another seed made the same study")
	}
	other = opts
	other.PatientID = "ANOTHER"
	if d := write(other); d.StudyUID == a.StudyUID {
		t.Error("another patient got the same study UID")
	}
}

// TestPixels checks that the pixels look like CT to a compressor: neither
// empty nor noise, 12 bits stored.
func TestPixels(t *testing.T) {
	res, err := Write(Options{Dir: t.TempDir(), Images: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := readFile(t, res.Files[0])
	px := b[len(b)-512*512*2:]
	distinct := map[uint16]bool{}
	for i := 0; i < len(px); i += 2 {
		v := binary.LittleEndian.Uint16(px[i:])
		if v > 4095 {
			t.Fatalf("pixel %d is %d, more than 12 bits", i/2, v)
		}
		distinct[v] = true
	}
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.DefaultCompression)
	w.Write(px)
	w.Close()
	ratio := float64(z.Len()) / float64(len(px))
	if len(distinct) < 200 || ratio < 0.2 || ratio > 0.7 {
		t.Errorf("%d distinct values, compressed to %.2f; want many, and between 0.2 and 0.7 like real CT", len(distinct), ratio)
	}
}

func TestWriteOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: "x", Series: -1},
		{Dir: "x", Series: 1000},
		{Dir: "x", Images: 100000},
		{Dir: "x", Rows: 70000},
		{Dir: "x", Sex: "X"},
		{Dir: "x", BirthDate: "1970-01-01"},
		{Dir: "x", PatientName: strings.Repeat("A", 65)},
		{Dir: "x", PatientID: `A\B`},
	} {
		if _, err := Write(o); err == nil {
			t.Errorf("Write(%+v): no error", o)
		}
	}
	if _, err := os.Stat("x"); err == nil {
		t.Error("a refused Write made its folder")
	}
}
