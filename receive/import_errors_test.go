package receive

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"imageshare/reconcile"
	"imageshare/study"
)

// impRefusingPACS is a DICOMweb server that answers every request with
// status, and counts them. It stands in for a PACS only where the import
// must not claim anything was stored.
func impRefusingPACS(t *testing.T, status int) (url string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "not for this station", status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/dicom-web", requests
}

// A PACS that refuses every request (403): every instance is listed with
// the PACS's answer, none is claimed stored, nothing is queried; a file
// that cannot be reconciled is listed as not sent, and leaves no copy; a
// report that cannot be read stays in the folder, and the import goes on.
func TestImportRefused(t *testing.T) {
	out := t.TempDir()
	in := impFolder(t, out)
	junk := in.Files[0]
	if err := os.WriteFile(junk.Path, []byte(strings.Repeat("not DICOM ", 20)), 0o600); err != nil {
		t.Fatal(err)
	}
	in.Report = filepath.Join(in.Dir, "missing-report.pdf")
	url, requests := impRefusingPACS(t, http.StatusForbidden)
	var ev impEvents
	opts := ImportOptions{URL: url, Changes: Local{PatientID: "MRN1", Issuer: "TC"}.Changes()}
	res, err := Import(t.Context(), opts, in, ev.add)
	if !errors.Is(err, ErrImportPartial) {
		t.Fatalf("import: %v, want ErrImportPartial", err)
	}
	if res == nil || res.Stored != 0 || len(res.Failed) != len(in.Files) {
		t.Fatalf("result %+v, want all %d failed", res, len(in.Files))
	}
	for _, f := range res.Failed {
		want := "403"
		if f.SOP == junk.SOPInstanceUID {
			want = "not sent to the PACS: "
		}
		if !strings.Contains(f.Reason, want) || strings.HasPrefix(f.Reason, "not sent to the PACS: reconcile:") {
			t.Errorf("%s: %q, want %q", f.File, f.Reason, want)
		}
	}
	if !strings.HasPrefix(res.Report, "kept in the folder only: ") {
		t.Errorf("report %q", res.Report)
	}
	var notStored *ReportNotStored
	for _, e := range ev.got {
		if r, ok := e.(*ReportNotStored); ok {
			notStored = r
		}
	}
	if notStored == nil || notStored.File != "missing-report.pdf" {
		t.Errorf("events %v: want the report not stored, by its name", ev.types())
	}
	if done := ev.last(t); done.Stored != 0 || len(done.Failed) != len(in.Files) || done.Report != res.Report {
		t.Errorf("Imported %+v", done)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1 STOW-RS request and no query", n)
	}
	if work, err := os.ReadDir(filepath.Join(out, ".imageshare")); err != nil || len(work) != 0 {
		t.Errorf("the work area holds %v, %v; want it empty", work, err)
	}
}

// What cannot work is refused before a request is made.
func TestImportRefusesBeforeSending(t *testing.T) {
	out := t.TempDir()
	in := impFolder(t, out)
	url, requests := impRefusingPACS(t, http.StatusForbidden)
	two := *in
	two.Studies = append([]study.Summary{}, in.Studies[0], in.Studies[0])
	two.Studies[1].StudyUID += ".2"
	for _, c := range []struct {
		name string
		opts ImportOptions
		in   *ImportInput
		want error
	}{
		{"one accession, two studies", ImportOptions{URL: url, Changes: reconcile.Changes{AccessionNumber: "A1"}}, &two, ErrOneAccession},
		{"no study", ImportOptions{URL: url}, &ImportInput{Dir: in.Dir}, nil},
		{"no credentials file", ImportOptions{URL: url, CredentialsFile: filepath.Join(out, "missing")}, in, os.ErrNotExist},
		{"not a DICOMweb root", ImportOptions{URL: "ftp://pacs/"}, in, nil},
	} {
		var ev impEvents
		res, err := Import(t.Context(), c.opts, c.in, ev.add)
		if !errors.Is(err, ErrImportPartial) || (c.want != nil && !errors.Is(err, c.want)) || res != nil || len(ev.got) != 0 {
			t.Errorf("%s: %+v, %v, events %v; want an error wrapping ErrImportPartial and %v, no event", c.name, res, err, ev.types(), c.want)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestLocalChanges(t *testing.T) {
	for _, c := range []struct {
		local Local
		want  reconcile.Changes
	}{
		{Local{}, reconcile.Changes{}},
		{Local{Name: "TRAUMA, ALPHA", Sex: "f"}, reconcile.Changes{PatientName: "TRAUMA^ALPHA", PatientSex: "F"}},
		{Local{Name: " DOE^JANE "}, reconcile.Changes{PatientName: "DOE^JANE"}},
		{Local{Name: "MADONNA"}, reconcile.Changes{PatientName: "MADONNA"}},
		// The issuer names who issued a local ID: alone, it changes nothing.
		{Local{Issuer: "TC"}, reconcile.Changes{}},
		{Local{PatientID: "MRN1", Issuer: "TC", Accession: "A1", BirthDate: "19700101"},
			reconcile.Changes{PatientID: "MRN1", IssuerOfPatientID: "TC", AccessionNumber: "A1", PatientBirthDate: "19700101"}},
	} {
		if got := c.local.Changes(); got != c.want {
			t.Errorf("%+v: %+v, want %+v", c.local, got, c.want)
		}
	}
	s := study.Summary{PatientID: "SYN000005", PatientName: "SYNTHETIC^PATIENT"}
	if got := DescribeChanges(s, reconcile.Changes{}); got != "nothing to change" {
		t.Errorf("no changes: %q", got)
	}
	if got, want := DescribeChanges(s, reconcile.Changes{PatientID: "MRN123", PatientName: s.PatientName}), `patient ID "SYN000005" → "MRN123"`; got != want {
		t.Errorf("DescribeChanges = %q, want %q", got, want)
	}
	if got := RedactedURL("https://u:secret@pacs/dicom-web"); got != "https://pacs/dicom-web" {
		t.Errorf("RedactedURL = %q", got)
	}
}
