package orthanc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/e2e/orthanc"
	"imageshare/internal/testenv"
)

// ctFile is one file of the real CT series in ../shared/dicom.
type ctFile struct {
	path, sopInstanceUID, studyUID string
}

// ctSeries returns the first n files of the CT series, skipping t when the
// data is absent (failing it under CI).
func ctSeries(t *testing.T, n int) []ctFile {
	t.Helper()
	paths := testenv.CTSeries(t, n)
	files := make([]ctFile, n)
	for i, path := range paths {
		ds, err := dicom.ParseFile(path, nil, dicom.SkipPixelData())
		if err != nil {
			t.Fatalf("parsing %s: %v", path, err)
		}
		files[i] = ctFile{path: path, sopInstanceUID: value(t, ds, tag.SOPInstanceUID), studyUID: value(t, ds, tag.StudyInstanceUID)}
	}
	return files
}

func value(t *testing.T, ds dicom.Dataset, tg tag.Tag) string {
	t.Helper()
	e, err := ds.FindElementByTag(tg)
	if err != nil {
		t.Fatalf("no %v: %v", tg, err)
	}
	return strings.TrimRight(dicom.MustGetStrings(e.Value)[0], "\x00 ")
}

// qido asks the server's DICOMweb API for the study's instances and
// returns the raw DICOM JSON.
func qido(t *testing.T, s *orthanc.Server, studyUID string) string {
	t.Helper()
	resp, err := s.HTTPClient().Get(s.DICOMwebURL + "/studies/" + studyUID + "/instances")
	if err != nil {
		t.Fatalf("QIDO-RS on %s: %v", s.Name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("QIDO-RS on %s: %s: %s", s.Name, resp.Status, body)
	}
	return string(body)
}

func TestTwoServersInOneNamespace(t *testing.T) {
	files := ctSeries(t, 2)
	ns := orthanc.NewNamespace(t)
	a := ns.Start(t, orthanc.Name("PACS_A"))
	b := ns.Start(t, orthanc.Name("PACS_B"))
	if a.Namespace() != ns || b.Namespace() != ns {
		t.Fatal("the servers do not say they run in the namespace")
	}
	if a.URL == b.URL || a.DICOMPort == b.DICOMPort {
		t.Fatalf("both servers on the same ports: %s and %s, DICOM %d and %d", a.URL, b.URL, a.DICOMPort, b.DICOMPort)
	}
	if a.DICOMwebURL != a.URL+"/dicom-web" {
		t.Errorf("DICOMwebURL = %s, want %s/dicom-web", a.DICOMwebURL, a.URL)
	}

	a.Upload(t, files[0].path, files[1].path)
	a.Upload(t, files[0].path) // stored already: fine
	study := files[0].studyUID
	if got := qido(t, a, study); !strings.Contains(got, files[0].sopInstanceUID) || !strings.Contains(got, files[1].sopInstanceUID) {
		t.Errorf("QIDO-RS on PACS_A does not list the uploaded instances: %.300s", got)
	}
	if got := qido(t, b, study); strings.Contains(got, files[0].sopInstanceUID) {
		t.Errorf("QIDO-RS on PACS_B lists an instance uploaded to PACS_A: %.300s", got)
	}
	want := []string{files[0].sopInstanceUID, files[1].sopInstanceUID}
	slices.Sort(want)
	if got := a.Instances(t, study); !slices.Equal(got, want) {
		t.Errorf("PACS_A Instances = %v, want %v", got, want)
	}
	if got := b.Instances(t, study); len(got) != 0 {
		t.Errorf("PACS_B Instances = %v, want none", got)
	}
}

// TestRejectAndDrop checks the Lua filter through the REST API: a rejected
// instance is an error, a dropped one "FilteredOut", neither kept.
func TestRejectAndDrop(t *testing.T) {
	files := ctSeries(t, 3)
	s := orthanc.Start(t, orthanc.RejectInstances(files[1].sopInstanceUID), orthanc.DropInstances(files[2].sopInstanceUID))
	s.Upload(t, files[0].path)

	post := func(path string) (int, string) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.HTTPClient().Post(s.URL+"/instances", "application/dicom", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(answer)
	}
	if status, answer := post(files[1].path); status == http.StatusOK {
		t.Errorf("rejected instance: HTTP 200 %s, want an error", answer)
	}
	status, answer := post(files[2].path)
	var got struct{ Status string }
	if err := json.Unmarshal([]byte(answer), &got); status != http.StatusOK || err != nil || got.Status != "FilteredOut" {
		t.Errorf("dropped instance: HTTP %d %s, want 200 and FilteredOut", status, answer)
	}
	if got := s.Instances(t, files[0].studyUID); !slices.Equal(got, []string{files[0].sopInstanceUID}) {
		t.Errorf("Instances = %v, want only %s", got, files[0].sopInstanceUID)
	}
}

func TestStopRestart(t *testing.T) {
	files := ctSeries(t, 1)
	s := orthanc.Start(t)
	s.Upload(t, files[0].path)
	s.Stop(t)
	s.Stop(t) // a second time does nothing
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/system", nil)
	if resp, err := s.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a stopped server answered: %s", resp.Status)
	}
	s.Restart(t)
	if got := s.Instances(t, files[0].studyUID); !slices.Equal(got, []string{files[0].sopInstanceUID}) {
		t.Errorf("after a restart, Instances = %v, want %s", got, files[0].sopInstanceUID)
	}
}

// TestNamespaceIsolation checks that the namespace has loopback only, that
// its client reaches nothing outside it, and that its dials leave no
// thread of this process in it.
func TestNamespaceIsolation(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	out, err := ns.Command(t.Context(), "ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip link in the namespace: %v", err)
	}
	if links := strings.Split(strings.TrimSpace(string(out)), "\n"); len(links) != 1 || !strings.Contains(links[0], " lo:") {
		t.Errorf("the namespace has other links than lo:\n%s", out)
	}

	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer outside.Close()
	if resp, err := ns.HTTPClient().Get(outside.URL); err == nil {
		resp.Body.Close()
		t.Fatalf("the namespace's client reached %s, a server outside the namespace", outside.URL)
	}

	// Many dials in the namespace at once, then dials outside it: were a
	// thread left in the namespace, some of these would fail.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if conn, err := ns.DialContext(t.Context(), "tcp", outside.Listener.Addr().String()); err == nil {
				conn.Close()
				t.Error("a dial in the namespace reached a server outside it")
			}
		})
	}
	wg.Wait()
	direct := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 200 {
		resp, err := direct.Get(outside.URL)
		if err != nil {
			t.Fatalf("dial %d outside the namespace, after dials in it: %v", i, err)
		}
		resp.Body.Close()
	}
}
