package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"imageshare/study"
	"imageshare/synthetic"
)

// A folder saved before the record existed: its report is the one file
// that is a PDF or text, whatever its name (the fetch saves it under the
// sender's name, e.g. report.pdf).
func TestFolderInputFindsReport(t *testing.T) {
	dir := t.TempDir()
	if _, err := synthetic.Write(synthetic.Options{Dir: dir, Images: 2, Rows: 16, Columns: 16, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.pdf"), []byte("%PDF-1.4\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := folderInput(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(in.report) != "report.pdf" || len(in.files) != 2 || len(in.studies) != 1 {
		t.Fatalf("report %q, %d files, %d studies; want report.pdf, 2, 1", in.report, len(in.files), len(in.studies))
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("second report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := folderInput(context.Background(), dir); err == nil {
		t.Error("two reports were taken without a word")
	}
}

// With its record, the folder is what the fetch showed: the report by its
// name, and every file checked again; a file swapped since is refused.
func TestFolderInputChecksRecord(t *testing.T) {
	dir := t.TempDir()
	res, err := synthetic.Write(synthetic.Options{Dir: dir, Images: 3, Rows: 16, Columns: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := scan.Studies[0]
	rec := &receivedRecord{Version: 1, OfferID: "0a1b2c3d4e5f6071", Site: "GENERAL", Studies: []study.Summary{st.Summary}}
	for _, f := range st.Files {
		rec.Files = append(rec.Files, receivedFile{Path: f.Rel, Kind: study.KindDICOM, StudyUID: f.StudyUID, SeriesUID: f.SeriesUID, SOP: f.SOPInstanceUID})
	}
	if err := os.WriteFile(filepath.Join(dir, "Bericht.txt"), []byte("Befund\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec.Files = append(rec.Files, receivedFile{Path: "Bericht.txt", Kind: study.KindReport})
	if err := rec.write(dir); err != nil {
		t.Fatal(err)
	}
	in, err := folderInput(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(in.report) != "Bericht.txt" || in.site != "GENERAL" || in.offerID != rec.OfferID || len(in.files) != 3 {
		t.Fatalf("input %+v", in)
	}

	// Another patient's file in place of one of them.
	other := t.TempDir()
	o, err := synthetic.Write(synthetic.Options{Dir: other, Images: 1, Rows: 16, Columns: 16, Seed: 9, PatientID: "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(o.Files[0])
	if err := os.WriteFile(res.Files[1], b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := folderInput(context.Background(), dir); !errors.Is(err, study.ErrMismatch) {
		t.Fatalf("a swapped file: %v, want a mismatch", err)
	}
}
