package dicomweb_test

// Tests against a real Orthanc 1.10 with its DICOMweb plugin, in a network
// namespace of the test's own (imageshare/e2e/orthanc). They skip without
// root or Orthanc, and fail then under CI=true.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/dicomweb"
	"imageshare/e2e/orthanc"
	"imageshare/internal/testenv"
)

// seriesFiles is how many files of the real CT series the tests use: a
// few dozen keep them quick (about 0.5 MB each).
const seriesFiles = 24

// ctSeries returns the first n files of the real CT series in
// ../shared/dicom as instances, and their study's UID. It skips t when the
// data is absent, and fails it under CI.
func ctSeries(t *testing.T, n int) ([]dicomweb.Instance, string) {
	t.Helper()
	paths := testenv.CTSeries(t, n)
	var out []dicomweb.Instance
	study := ""
	for _, path := range paths {
		in, s := readInstance(t, path)
		out = append(out, in)
		study = s
	}
	return out, study
}

// readInstance reads the UIDs of a DICOM file.
func readInstance(t *testing.T, path string) (dicomweb.Instance, string) {
	t.Helper()
	ds, err := dicom.ParseFile(path, nil, dicom.SkipPixelData())
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	get := func(tg tag.Tag) string {
		e, err := ds.FindElementByTag(tg)
		if err != nil {
			t.Fatalf("%s: no %v: %v", path, tg, err)
		}
		return strings.TrimRight(dicom.MustGetStrings(e.Value)[0], "\x00 ")
	}
	return dicomweb.Instance{Path: path, SOPInstanceUID: get(tag.SOPInstanceUID), SOPClassUID: get(tag.SOPClassUID)}, get(tag.StudyInstanceUID)
}

func paths(in []dicomweb.Instance) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.Path
	}
	return out
}

func sortedUIDs(in []dicomweb.Instance) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.SOPInstanceUID
	}
	slices.Sort(out)
	return out
}

func client(t *testing.T, s *orthanc.Server) *dicomweb.Client {
	t.Helper()
	c, err := dicomweb.New(s.DICOMwebURL, s.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOrthancRoundTrip: a series in PACS A is found, retrieved into a
// folder, stored into PACS B and verified there.
func TestOrthancRoundTrip(t *testing.T) {
	series, study := ctSeries(t, seriesFiles)
	ns := orthanc.NewNamespace(t)
	a := ns.Start(t, orthanc.Name("PACS_A"))
	b := ns.Start(t, orthanc.Name("PACS_B"))
	a.Upload(t, paths(series)...)
	ca, cb := client(t, a), client(t, b)
	ctx := t.Context()

	matches, err := ca.SearchStudies(ctx, dicomweb.StudyQuery{PatientID: "Pancreas-CT-CB_001", StudyDate: "20120101-20121231"})
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 || matches[0].StudyInstanceUID != study || matches[0].NumberOfStudyRelatedInstances != seriesFiles ||
		!slices.Equal(matches[0].ModalitiesInStudy, []string{"CT"}) || matches[0].PatientName == "" {
		t.Fatalf("SearchStudies found %+v, want study %s of %d CT instances", matches, study, seriesFiles)
	}
	if none, err := ca.SearchStudies(ctx, dicomweb.StudyQuery{PatientID: "nobody"}); err != nil || len(none) != 0 {
		t.Errorf("SearchStudies for nobody: %v, %v", none, err)
	}
	got, err := ca.Instances(ctx, study)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, sortedUIDs(series)) {
		t.Fatalf("Instances on PACS A: %d UIDs, want the %d uploaded", len(got), seriesFiles)
	}

	dir := t.TempDir()
	var lastFiles int
	retrieved, err := ca.RetrieveStudy(ctx, study, dir, func(files int, bytes int64) { lastFiles = files })
	if err != nil {
		t.Fatal(err)
	}
	if len(retrieved) != seriesFiles || lastFiles != seriesFiles {
		t.Fatalf("retrieved %d files (progress said %d), want %d", len(retrieved), lastFiles, seriesFiles)
	}
	originals := map[string][]byte{}
	for _, in := range series {
		b, _ := os.ReadFile(in.Path)
		originals[in.SOPInstanceUID] = b
	}
	var toStore []dicomweb.Instance
	for _, path := range retrieved {
		in, _ := readInstance(t, path)
		b, _ := os.ReadFile(path)
		if !bytes.Equal(b, originals[in.SOPInstanceUID]) {
			t.Errorf("%s (%s) differs from the file uploaded", path, in.SOPInstanceUID)
		}
		toStore = append(toStore, in)
	}

	if missing, err := cb.Verify(ctx, study, patientIDOf(t, series[0].Path), sortedUIDs(series)); err != nil || len(missing) != seriesFiles {
		t.Fatalf("Verify on the empty PACS B: %d missing, %v; want all %d", len(missing), err, seriesFiles)
	}
	res, err := cb.Store(ctx, toStore, dicomweb.StoreOptions{BatchBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stored) != seriesFiles || len(res.Failed) != 0 {
		t.Fatalf("Store into PACS B: %d stored, failed %+v", len(res.Stored), res.Failed)
	}
	missing, err := cb.Verify(ctx, study, patientIDOf(t, series[0].Path), sortedUIDs(series))
	if err != nil || len(missing) != 0 {
		t.Fatalf("Verify on PACS B: missing %v, %v", missing, err)
	}
	if got := b.Instances(t, study); !slices.Equal(got, sortedUIDs(series)) {
		t.Errorf("PACS B holds %d instances of the study, want %d", len(got), seriesFiles)
	}

	if _, err := cb.RetrieveStudy(ctx, "1.2.3.4.5", t.TempDir(), nil); !errors.Is(err, dicomweb.ErrStudyNotFound) {
		t.Errorf("retrieving a study PACS B does not have: %v, want ErrStudyNotFound", err)
	}
}

// TestOrthancRefuses stores into a PACS that rejects three instances (its
// Lua filter raises an error) and drops one (answers success, keeps
// nothing), with a file that is not DICOM among them: Store fails exactly
// the rejected ones and that file, Verify finds the dropped one missing.
func TestOrthancRefuses(t *testing.T) {
	series, study := ctSeries(t, seriesFiles)
	junk := dicomweb.Instance{Path: filepath.Join(t.TempDir(), "junk.dcm"), SOPInstanceUID: "1.2.826.0.1.3680043.2.1125.999"}
	if err := os.WriteFile(junk.Path, bytes.Repeat([]byte("not DICOM "), 300), 0o644); err != nil {
		t.Fatal(err)
	}
	series = slices.Insert(series, 12, junk)
	rejected := []dicomweb.Instance{series[3], series[4], series[16], junk}
	dropped := series[9]
	s := orthanc.Start(t,
		orthanc.RejectInstances(rejected[0].SOPInstanceUID, rejected[1].SOPInstanceUID, rejected[2].SOPInstanceUID),
		orthanc.DropInstances(dropped.SOPInstanceUID))
	c := client(t, s)

	res, err := c.Store(t.Context(), series, dicomweb.StoreOptions{BatchBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.Failed {
		failed = append(failed, f.SOPInstanceUID)
		if f.Retriable || f.Path == "" {
			t.Errorf("failure %+v: want not retriable, with its path", f)
		}
		if f.SOPInstanceUID == junk.SOPInstanceUID && !strings.Contains(f.Text, "HTTP 400") {
			t.Errorf("failure of the file that is not DICOM: %q, want HTTP 400", f.Text)
		}
	}
	slices.Sort(failed)
	if want := sortedUIDs(rejected); !slices.Equal(failed, want) {
		t.Fatalf("Failed lists %v, want exactly the rejected %v", failed, want)
	}
	if len(res.Stored) != len(series)-len(rejected) {
		t.Errorf("%d stored, want %d", len(res.Stored), len(series)-len(rejected))
	}
	missing, err := c.Verify(t.Context(), study, patientIDOf(t, series[0].Path), sortedUIDs(res.Stored))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{dropped.SOPInstanceUID}) {
		t.Errorf("Verify: missing %v, want only the dropped %s", missing, dropped.SOPInstanceUID)
	}
}

// TestOrthancStopsMidStore kills the PACS between two batches: Store
// gives up with the partial result and an error; once the PACS is back,
// storing the failed instances again completes the study.
func TestOrthancStopsMidStore(t *testing.T) {
	series, study := ctSeries(t, seriesFiles)
	s := orthanc.Start(t)
	c := client(t, s)

	stopped := false
	res, err := c.Store(t.Context(), series, dicomweb.StoreOptions{
		BatchBytes: 1100 << 10, // two files a batch
		Retries:    1,
		Progress: func(done, total int) {
			if done >= 6 && !stopped {
				stopped = true
				s.Stop(t)
			}
		},
	})
	if !errors.Is(err, dicomweb.ErrUnavailable) {
		t.Fatalf("Store with the PACS stopped: error %v, want ErrUnavailable", err)
	}
	if len(res.Stored) != 6 || len(res.Failed) != seriesFiles-6 {
		t.Fatalf("%d stored, %d failed; want 6 and %d", len(res.Stored), len(res.Failed), seriesFiles-6)
	}
	var again []dicomweb.Instance
	for _, f := range res.Failed {
		if !f.Retriable || !strings.Contains(f.Text, "attempts") {
			t.Errorf("failure %+v: want retriable, saying the PACS failed the attempts", f)
		}
		again = append(again, f.Instance)
	}

	s.Restart(t)
	if got := s.Instances(t, study); !slices.Equal(got, sortedUIDs(res.Stored)) {
		t.Fatalf("after the restart the PACS holds %d instances, want the %d stored", len(got), len(res.Stored))
	}
	res2, err := c.Store(t.Context(), again, dicomweb.StoreOptions{})
	if err != nil || len(res2.Failed) != 0 {
		t.Fatalf("storing the rest: %v, failed %+v", err, res2.Failed)
	}
	if missing, err := c.Verify(t.Context(), study, patientIDOf(t, series[0].Path), sortedUIDs(series)); err != nil || len(missing) != 0 {
		t.Errorf("Verify: missing %v, %v", missing, err)
	}
}

// patientIDOf reads the Patient ID of a DICOM file.
func patientIDOf(t *testing.T, path string) string {
	t.Helper()
	ds, err := dicom.ParseFile(path, nil, dicom.SkipPixelData())
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	e, err := ds.FindElementByTag(tag.PatientID)
	if err != nil {
		return ""
	}
	return strings.TrimRight(dicom.MustGetStrings(e.Value)[0], "\x00 ")
}
