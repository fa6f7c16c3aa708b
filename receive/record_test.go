package receive

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"imageshare/audit"
	"imageshare/study"
	"imageshare/synthetic"
	"imageshare/transfer"
)

// impStudy writes a synthetic study of n images into dir, and a text
// report beside them, and returns the manifest a sender would have made
// of it (without its chunks).
func impStudy(t *testing.T, dir string, n int, seed int64) *transfer.Manifest {
	t.Helper()
	if _, err := synthetic.Write(synthetic.Options{Dir: dir, Images: n, Rows: 16, Columns: 16, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	scan, err := study.ScanPaths(t.Context(), []string{dir}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Studies) != 1 || len(scan.Problems) != 0 {
		t.Fatalf("scan: %d studies, problems %v", len(scan.Studies), scan.Problems)
	}
	st := scan.Studies[0]
	m := &transfer.Manifest{Version: 1, OfferID: "0a1b2c3d4e5f6071", Site: "GENERAL", Studies: []study.Summary{st.Summary}}
	for _, f := range st.Files {
		m.Files = append(m.Files, transfer.File{Path: f.Rel, Size: f.Size, Kind: study.KindDICOM, StudyUID: f.StudyUID, Series: f.SeriesUID, SOP: f.SOPInstanceUID})
	}
	report := []byte("Befund: keine Fraktur.\n")
	if err := os.WriteFile(filepath.Join(dir, "Bericht.txt"), report, 0o600); err != nil {
		t.Fatal(err)
	}
	m.Files = append(m.Files, transfer.File{Path: "Bericht.txt", Size: int64(len(report)), Kind: study.KindReport})
	return m
}

// The record a fetch writes reads back as written, and gives the same
// input as the manifest it was made from.
func TestRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := impStudy(t, dir, 3, 1)
	rec := NewRecord(m)
	if err := rec.Write(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(RecordName)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadRecord(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, rec)
	}
	if !reflect.DeepEqual(got.Expected(), ManifestExpected(m)) {
		t.Errorf("the record expects %+v, the manifest %+v", got.Expected(), ManifestExpected(m))
	}
	if a, b := got.Input(dir), ManifestInput(m, dir); !reflect.DeepEqual(a, b) {
		t.Errorf("the record's input %+v, the manifest's %+v", a, b)
	}
	in, err := FolderInput(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(in.Report) != "Bericht.txt" || in.Site != "GENERAL" || in.OfferID != m.OfferID || len(in.Files) != 3 || len(in.Studies) != 1 {
		t.Fatalf("folder input %+v", in)
	}

	// A folder saved by an older receiver has no record.
	if r, err := ReadRecord(t.TempDir()); r != nil || err != nil {
		t.Errorf("no record: %v, %v; want nil, nil", r, err)
	}
}

// A record this receiver did not write, or that names a file outside the
// folder, is refused.
func TestReadRecordRefuses(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"not JSON", "{", "received.json"},
		{"another version", `{"version":2,"studies":[{}]}`, "version 2"},
		{"no study", `{"version":1,"studies":[]}`, "0 studies"},
		{"a file outside", `{"version":1,"studies":[{}],"files":[{"path":"../../etc/passwd","kind":"dicom"}]}`, ".."},
		{"an absolute name", `{"version":1,"studies":[{}],"files":[{"path":"/etc/passwd","kind":"dicom"}]}`, "passwd"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, filepath.FromSlash(RecordName))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := ReadRecord(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %+v, %v; want an error naming %q", c.name, r, err, c.want)
		}
		if _, err := FolderInput(t.Context(), dir); err == nil {
			t.Errorf("%s: FolderInput took the folder", c.name)
		}
	}
}

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
	in, err := FolderInput(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(in.Report) != "report.pdf" || len(in.Files) != 2 || len(in.Studies) != 1 {
		t.Fatalf("report %q, %d files, %d studies; want report.pdf, 2, 1", in.Report, len(in.Files), len(in.Studies))
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("second report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FolderInput(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "two files that may be the report") {
		t.Errorf("two reports: %v", err)
	}
	if _, err := FolderInput(t.Context(), t.TempDir()); !errors.Is(err, study.ErrNoStudy) {
		t.Errorf("an empty folder: %v, want ErrNoStudy", err)
	}
}

// Another patient's file in place of one of the study shown: the folder
// is refused, file and attribute named; the refusal is a Security Alert
// in the audit trail; the folder leaves the incoming folder as
// "refused-…", and a second refusal of the same name does not overwrite
// the first.
func TestRefuseMismatchedStudy(t *testing.T) {
	out := t.TempDir()
	dir := filepath.Join(out, transfer.IncomingDir, "study-0a1b")
	m := impStudy(t, dir, 3, 2)
	if err := NewRecord(m).Write(dir); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	o, err := synthetic.Write(synthetic.Options{Dir: other, Images: 1, Rows: 16, Columns: 16, Seed: 9, PatientID: "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(o.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	swapped := m.Files[1].Path
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(swapped)), b, 0o600); err != nil {
		t.Fatal(err)
	}

	_, err = FolderInput(t.Context(), dir)
	var mismatch *study.MismatchError
	if !errors.As(err, &mismatch) || !errors.Is(err, study.ErrMismatch) {
		t.Fatalf("a swapped file: %v, want a *study.MismatchError", err)
	}
	// The fetch's own check says the same.
	if err := study.CheckReceived(t.Context(), dir, m.Studies, ManifestExpected(m)); !errors.Is(err, study.ErrMismatch) {
		t.Fatalf("CheckReceived against the manifest: %v", err)
	}

	trailPath := filepath.Join(t.TempDir(), "audit.jsonl")
	trail, err := audit.OpenTrail("receiver", trailPath, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ev := RefuseMismatch(trail, mismatch, audit.Local("receiver", ""), audit.Participant{Site: "GENERAL"}, m.OfferID)
	trail.Close()
	if ev.EventType() != "mismatch" || len(ev.Mismatches) == 0 {
		t.Fatalf("event %+v", ev)
	}
	for _, mm := range ev.Mismatches {
		if mm.File != swapped {
			t.Errorf("mismatch in %s, want only %s: %+v", mm.File, swapped, mm)
		}
	}
	log, err := os.ReadFile(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), string(audit.AlertContentMismatch)) || !strings.Contains(string(log), m.OfferID) {
		t.Errorf("the trail holds no content_mismatch alert for the offer:\n%s", log)
	}

	refused, err := Quarantine(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "refused-study-0a1b"); refused != want {
		t.Errorf("quarantined in %s, want %s", refused, want)
	}
	if _, err := os.Stat(filepath.Join(out, transfer.IncomingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the empty incoming folder stays: %v", err)
	}
	again := filepath.Join(out, "study-0a1b")
	if err := os.Mkdir(again, 0o700); err != nil {
		t.Fatal(err)
	}
	second, err := Quarantine(again)
	if err != nil || second != refused+"-2" {
		t.Errorf("a second refusal went to %s, %v; want %s-2", second, err, refused)
	}
	if _, err := os.Stat(filepath.Join(refused, filepath.FromSlash(RecordName))); err != nil {
		t.Errorf("the first refusal's files: %v", err)
	}
}
