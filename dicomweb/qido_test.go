package dicomweb

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func TestSearchStudies(t *testing.T) {
	answer := `[{
	  "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
	  "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JANE"}]},
	  "00100020": {"vr": "LO", "Value": ["P1"]},
	  "00080020": {"vr": "DA", "Value": ["20240102"]},
	  "00081030": {"vr": "LO", "Value": ["CT CHEST"]},
	  "00080050": {"vr": "SH"},
	  "00080061": {"vr": "CS", "Value": ["CT", "SR"]},
	  "00201208": {"vr": "IS", "Value": [135]}
	}, {
	  "0020000d": {"vr": "UI", "Value": ["1.2.4"]},
	  "00201208": {"vr": "IS", "Value": ["7"]}
	}]`
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/dicom-web/studies" || q.Get("PatientID") != "P1" || q.Get("StudyDate") != "20240101-20240131" ||
			q.Has("AccessionNumber") || !slices.Contains(q["includefield"], tagStudyDescription) {
			t.Errorf("QIDO-RS request %s", r.URL)
		}
		if r.Header.Get("Accept") != "application/dicom+json" {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		answerJSON(w, http.StatusOK, []byte(answer))
	}))
	got, err := c.SearchStudies(t.Context(), StudyQuery{PatientID: "P1", StudyDate: "20240101-20240131"})
	if err != nil {
		t.Fatal(err)
	}
	want := []StudyMatch{{
		StudyInstanceUID: "1.2.3", PatientName: "DOE^JANE", PatientID: "P1", StudyDate: "20240102",
		StudyDescription: "CT CHEST", ModalitiesInStudy: []string{"CT", "SR"}, NumberOfStudyRelatedInstances: 135,
	}, {StudyInstanceUID: "1.2.4", NumberOfStudyRelatedInstances: 7}}
	if len(got) != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestSearchStudiesDates(t *testing.T) {
	for date, ok := range map[string]bool{
		"20240102": true, "20240102-20240103": true, "-20240102": true, "20240102-": true,
		"2024010": false, "202401021": false, "2024-01-02": false, "20240102-2024": false, "x0240102": false, "-": false,
	} {
		if validDateRange(date) != ok {
			t.Errorf("study date %q: valid %v, want %v", date, !ok, ok)
		}
	}
	c, _ := New("http://127.0.0.1:1/dicom-web", nil)
	if _, err := c.SearchStudies(t.Context(), StudyQuery{StudyDate: "2024-01-02"}); err == nil {
		t.Error("a bad date was sent")
	}
}

// pagedInstances serves n instances, limit and offset honoured unless
// ignore is set.
func pagedInstances(t *testing.T, n int, ignore bool, requests *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*requests++
		if *requests > 100 {
			t.Fatal("more than 100 QIDO-RS requests")
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if ignore {
			limit, offset = n, 0
		}
		var page []map[string]any
		for i := offset; i < min(n, offset+limit); i++ {
			page = append(page, map[string]any{tagSOPInstanceUID: map[string]any{"vr": "UI", "Value": []string{fmt.Sprintf("1.2.%d", i)}}})
		}
		b, _ := json.Marshal(page)
		if page == nil {
			b = []byte("[]")
		}
		answerJSON(w, http.StatusOK, b)
	})
}

func TestInstancesPaging(t *testing.T) {
	for _, tc := range []struct {
		n, page  int
		ignore   bool
		requests int
	}{
		{0, 2, false, 1}, {1, 2, false, 1}, {2, 2, false, 2}, {3, 2, false, 2}, {5, 2, false, 3},
		{5, 2, true, 2}, {5, 1000, false, 1},
	} {
		var requests int
		c := newTestClient(t, pagedInstances(t, tc.n, tc.ignore, &requests))
		c.pageSize = tc.page
		got, err := c.Instances(t.Context(), "1.2")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.n || (tc.n > 0 && got[tc.n-1] != fmt.Sprintf("1.2.%d", tc.n-1)) {
			t.Errorf("%d instances, pages of %d (ignored: %v): got %v", tc.n, tc.page, tc.ignore, got)
		}
		if requests != tc.requests {
			t.Errorf("%d instances, pages of %d (ignored: %v): %d requests, want %d", tc.n, tc.page, tc.ignore, requests, tc.requests)
		}
	}
}

func TestVerify(t *testing.T) {
	// The PACS holds 1.2.0 to 1.2.4 under MRN1, and 1.2.7 only under
	// another patient: an older copy of the study, which does not count.
	// It ignores the Patient ID match, as a PACS may; Verify must still
	// find 1.2.7 missing, and ask for the match and the attribute.
	var requests int
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		q := r.URL.Query()
		if q.Get(tagPatientID) != "MRN1" || !slices.Contains(q["includefield"], tagPatientID) {
			t.Errorf("query %s does not match and include Patient ID", r.URL.RawQuery)
		}
		offset, _ := strconv.Atoi(q.Get("offset"))
		var page []map[string]any
		add := func(uid, patient string) {
			page = append(page, map[string]any{
				tagSOPInstanceUID: map[string]any{"vr": "UI", "Value": []string{uid}},
				tagPatientID:      map[string]any{"vr": "LO", "Value": []string{patient}},
			})
		}
		if offset == 0 {
			for i := range 5 {
				add(fmt.Sprintf("1.2.%d", i), "MRN1")
			}
			add("1.2.7", "SENDER-ID")
		}
		b, _ := json.Marshal(page)
		if page == nil {
			b = []byte("[]")
		}
		answerJSON(w, http.StatusOK, b)
	}))
	missing, err := c.Verify(t.Context(), "1.2", "MRN1", []string{"1.2.4", "1.2.9", "1.2.0", "1.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{"1.2.9", "1.2.7"}) {
		t.Errorf("missing %v, want [1.2.9 1.2.7]", missing)
	}
}

func TestInstancesNotFound(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusNoContent} {
		c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
		}))
		got, err := c.Instances(t.Context(), "1.2")
		if err != nil || len(got) != 0 {
			t.Errorf("HTTP %d: %v, %v; want no instance, no error", status, got, err)
		}
	}
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such endpoint", http.StatusNotFound)
	}))
	if _, err := c.SearchStudies(t.Context(), StudyQuery{PatientID: "P"}); err == nil {
		t.Error("a 404 to a study search: no error")
	}
}

func TestBadStudyUID(t *testing.T) {
	c, _ := New("http://127.0.0.1:1/dicom-web", nil)
	for _, uid := range []string{"", "1.2/../../tools", "1.2?x=1", "1.2.3a"} {
		if _, err := c.Instances(t.Context(), uid); err == nil {
			t.Errorf("Instances(%q): no error", uid)
		}
		if _, err := c.RetrieveStudy(t.Context(), uid, t.TempDir(), nil); err == nil {
			t.Errorf("RetrieveStudy(%q): no error", uid)
		}
	}
}

// TestParseOrthancQIDO reads QIDO-RS answers of Orthanc 1.10.1 with
// DICOMweb 1.7.
func TestParseOrthancQIDO(t *testing.T) {
	b, err := os.ReadFile("testdata/qido-orthanc-studies.json")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := parseDatasets(b)
	if err != nil || len(ds) != 1 {
		t.Fatalf("%d datasets, %v", len(ds), err)
	}
	n, _ := ds[0].int(tagNumberOfStudyRelatedInstances)
	if ds[0].string(tagPatientName) != "Pancreas-CT-CB_001" || n != 2 || ds[0].string(tagStudyDate) != "20120706" {
		t.Errorf("patient %q, %d instances, date %q", ds[0].string(tagPatientName), n, ds[0].string(tagStudyDate))
	}
}

func FuzzParseDatasets(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/qido-*.json")
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata/qido-*.json")
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := parseDatasets(b)
		if err != nil {
			return
		}
		for _, d := range ds {
			for tag := range d {
				d.strings(tag)
				d.int(tag)
				d.sequence(tag)
			}
		}
	})
}
