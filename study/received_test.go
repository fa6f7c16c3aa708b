package study_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/study"
	"imageshare/synthetic"
)

// received writes a synthetic study and returns its folder, the summary a
// sender would show and the files it would promise.
func received(t *testing.T) (string, study.Summary, []study.Expected) {
	t.Helper()
	dir := t.TempDir()
	if _, err := synthetic.Write(synthetic.Options{Dir: dir, Series: 2, Images: 3, Rows: 16, Columns: 16, Seed: 7,
		PatientName: "VICTIM^REAL", PatientID: "MRN-0042-VICTIM-01"}); err != nil {
		t.Fatal(err)
	}
	scan, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := study.Select(scan, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var files []study.Expected
	for _, f := range sel[0].Files {
		files = append(files, study.Expected{Rel: f.Rel, Kind: study.KindDICOM, StudyUID: f.StudyUID, SeriesUID: f.SeriesUID, SOPInstanceUID: f.SOPInstanceUID})
	}
	return dir, sel[0].Summary, files
}

func TestCheckReceivedHonest(t *testing.T) {
	dir, s, files := received(t)
	if err := os.WriteFile(filepath.Join(dir, "report.pdf"), []byte("%PDF-1.4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files = append(files, study.Expected{Rel: "report.pdf", Kind: study.KindReport})
	if err := study.CheckReceived(context.Background(), dir, []study.Summary{s}, files); err != nil {
		t.Fatalf("an honest study was refused: %v", err)
	}
}

// TestCheckReceivedForged: a forged card's sender shows staff one patient
// and sends another's files; or promises one instance and sends another.
func TestCheckReceivedForged(t *testing.T) {
	dir, s, files := received(t)
	forged := s
	forged.PatientName, forged.PatientID, forged.BirthDate = "DOE^JANE", "123", "19800101"
	err := study.CheckReceived(context.Background(), dir, []study.Summary{forged}, files)
	var me *study.MismatchError
	if !errors.As(err, &me) || !errors.Is(err, study.ErrMismatch) {
		t.Fatalf("CheckReceived = %v, want a *MismatchError", err)
	}
	if len(me.Mismatches) != 3*len(files) {
		t.Errorf("%d mismatches, want 3 for each of %d files: %+v", len(me.Mismatches), len(files), me.Mismatches)
	}
	for _, attr := range []string{study.AttrPatientID, study.AttrPatientName, study.AttrBirthDate} {
		if !strings.Contains(err.Error(), attr) {
			t.Errorf("%q does not name %s", err, attr)
		}
	}
	if strings.Contains(err.Error(), "VICTIM") || strings.Contains(err.Error(), "123") {
		t.Errorf("the error shows patient values: %q", err)
	}
	m := me.Mismatches[0]
	if m.Attribute != study.AttrPatientID || m.Shown != "123" || m.Found != "MRN-0042-VICTIM-01" || m.File != files[0].Rel {
		t.Errorf("first mismatch %+v", m)
	}

	// Another instance than promised, and a promised file that is missing.
	swapped := append([]study.Expected(nil), files...)
	swapped[1].SOPInstanceUID = "1.2.3.4"
	swapped = append(swapped, study.Expected{Rel: "CT/extra.dcm", Kind: study.KindDICOM})
	err = study.CheckReceived(context.Background(), dir, []study.Summary{s}, swapped)
	if !errors.As(err, &me) || len(me.Mismatches) != 2 {
		t.Fatalf("CheckReceived = %v, want two mismatches", err)
	}
	if me.Mismatches[0].Attribute != study.AttrSOPUID || me.Mismatches[1].Found != "missing" {
		t.Errorf("mismatches %+v", me.Mismatches)
	}

	// A promised report that is a DICOM file.
	withReport := append([]study.Expected(nil), files[1:]...)
	withReport = append(withReport, study.Expected{Rel: files[0].Rel, Kind: study.KindReport})
	if err := study.CheckReceived(context.Background(), dir, []study.Summary{s}, withReport); !errors.As(err, &me) || me.Mismatches[0].Attribute != study.AttrFile {
		t.Errorf("a DICOM file shown as the report: %v", err)
	}
}
