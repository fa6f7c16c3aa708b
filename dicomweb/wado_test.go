package dicomweb

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// multipartStudy builds a WADO-RS answer body of the files, and its boundary.
func multipartStudy(t *testing.T, files ...[]byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}, "Content-Length": {fmt.Sprint(len(f))}})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f)
	}
	mw.Close()
	return buf.Bytes(), mw.Boundary()
}

// dribble writes b in small pieces, flushing each, so the client reads
// parts split across many reads.
func dribble(w http.ResponseWriter, b []byte) {
	for len(b) > 0 {
		n := min(len(b), 997)
		w.Write(b[:n])
		http.NewResponseController(w).Flush()
		b = b[n:]
	}
}

// wadoServer answers GET /dicom-web/studies/1.2.3 with body, under
// the Content-Type contentType.
func wadoServer(t *testing.T, contentType string, body []byte) *Client {
	return newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dicom-web/studies/1.2.3" {
			http.Error(w, `{"Message": "no such study"}`, http.StatusNotFound)
			return
		}
		if accept := r.Header.Get("Accept"); accept != `multipart/related; type="application/dicom"; transfer-syntax=*` {
			t.Errorf("Accept %q", accept)
		}
		w.Header().Set("Content-Type", contentType)
		dribble(w, body)
	}))
}

// names lists the names in dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestRetrieveStudy(t *testing.T) {
	files := [][]byte{fakeDICOM("1.2.3.1", 5000), fakeDICOM("1.2.3.2", 132), fakeDICOM("1.2.3.3", 70_000)}
	body, boundary := multipartStudy(t, files...)
	for _, contentType := range []string{
		`multipart/related; type="application/dicom"; boundary="` + boundary + `"`,
		`multipart/related; boundary=` + boundary + `; type=application/dicom; transfer-syntax=1.2.840.10008.1.2`,
		`Multipart/Related;Boundary=` + boundary,
	} {
		c := wadoServer(t, contentType, body)
		dir := filepath.Join(t.TempDir(), "study")
		var calls []string
		paths, err := c.RetrieveStudy(t.Context(), "1.2.3", dir, func(files int, bytes int64) {
			calls = append(calls, fmt.Sprintf("%d/%d", files, bytes))
		})
		if err != nil {
			t.Fatalf("Content-Type %s: %v", contentType, err)
		}
		if want := []string{"000001.dcm", "000002.dcm", "000003.dcm"}; !slices.Equal(names(t, dir), want) {
			t.Fatalf("wrote %v, want %v", names(t, dir), want)
		}
		for i, p := range paths {
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, files[i]) {
				t.Errorf("%s: %d bytes, %v; want the %d bytes of part %d", p, len(got), err, len(files[i]), i+1)
			}
		}
		n1, n2, n3 := len(files[0]), len(files[0])+len(files[1]), len(files[0])+len(files[1])+len(files[2])
		if want := []string{fmt.Sprintf("1/%d", n1), fmt.Sprintf("2/%d", n2), fmt.Sprintf("3/%d", n3)}; !slices.Equal(calls, want) {
			t.Errorf("progress %v, want %v", calls, want)
		}
	}
}

// TestRetrieveTruncated cuts the answer in the middle of the second part:
// the first file stays, the second is under neither its name nor a
// temporary one.
func TestRetrieveTruncated(t *testing.T) {
	body, boundary := multipartStudy(t, fakeDICOM("1.2.3.1", 5000), fakeDICOM("1.2.3.2", 50_000))
	cut := len(body) - 20_000
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+boundary)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		dribble(w, body[:cut])
		// Returning with fewer bytes than announced breaks the connection.
	}))
	dir := t.TempDir()
	paths, err := c.RetrieveStudy(t.Context(), "1.2.3", dir, nil)
	if err == nil {
		t.Fatal("a truncated answer: no error")
	}
	if !strings.Contains(err.Error(), "part 2") || !strings.Contains(err.Error(), "/dicom-web/studies/1.2.3") {
		t.Errorf("error %q: want it to name part 2 and the URL path", err)
	}
	if len(paths) != 1 || !slices.Equal(names(t, dir), []string{"000001.dcm"}) {
		t.Errorf("returned %v, folder holds %v; want only 000001.dcm", paths, names(t, dir))
	}
}

func TestRetrieveNotDICOM(t *testing.T) {
	notDICOM := bytes.Repeat([]byte("x"), 400)
	for name, part := range map[string][]byte{"no DICM": notDICOM, "short": []byte("DICM")} {
		body, boundary := multipartStudy(t, fakeDICOM("1.2.3.1", 500), part)
		c := wadoServer(t, "multipart/related; boundary="+boundary, body)
		dir := t.TempDir()
		_, err := c.RetrieveStudy(t.Context(), "1.2.3", dir, nil)
		if err == nil || !strings.Contains(err.Error(), "part 2: not a DICOM file") {
			t.Errorf("%s: error %v, want part 2 not a DICOM file", name, err)
		}
		if !slices.Equal(names(t, dir), []string{"000001.dcm"}) {
			t.Errorf("%s: folder holds %v, want only 000001.dcm", name, names(t, dir))
		}
	}
}

func TestRetrieveErrors(t *testing.T) {
	c := wadoServer(t, "multipart/related; boundary=x", nil)
	_, err := c.RetrieveStudy(t.Context(), "1.2.4", t.TempDir(), nil)
	if !errors.Is(err, ErrStudyNotFound) {
		t.Errorf("404: error %v, want ErrStudyNotFound", err)
	}

	c = newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("overloaded ", 100), http.StatusBadGateway)
	}))
	_, err = c.RetrieveStudy(t.Context(), "1.2.3", t.TempDir(), nil)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway || len(se.Excerpt) > maxExcerpt || !strings.HasPrefix(se.Excerpt, "overloaded") {
		t.Errorf("502: error %v, want a StatusError with an excerpt of at most %d bytes", err, maxExcerpt)
	}

	for _, contentType := range []string{"application/dicom", "multipart/related", "text/html; charset=utf-8"} {
		c = wadoServer(t, contentType, []byte("whatever"))
		if _, err := c.RetrieveStudy(t.Context(), "1.2.3", t.TempDir(), nil); err == nil {
			t.Errorf("Content-Type %q: no error", contentType)
		}
	}

	body, boundary := multipartStudy(t)
	c = wadoServer(t, "multipart/related; boundary="+boundary, body)
	if _, err := c.RetrieveStudy(t.Context(), "1.2.3", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no instance") {
		t.Errorf("no part: error %v, want one saying so", err)
	}
}

func FuzzMultipartBoundary(f *testing.F) {
	b, err := os.ReadFile("testdata/wado-content-types.txt")
	if err != nil {
		f.Fatal(err)
	}
	seeds := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(seeds) == 0 || seeds[0] == "" {
		f.Fatal("no seeds in testdata/wado-content-types.txt")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, contentType string) {
		boundary, err := multipartBoundary(contentType)
		if err == nil && boundary == "" {
			t.Errorf("%q: no error and no boundary", contentType)
		}
	})
}

func TestMultipartBoundary(t *testing.T) {
	for ct, want := range map[string]string{
		`multipart/related; type="application/dicom"; boundary="quoted-boundary"`:      "quoted-boundary",
		`multipart/related; boundary=abc; type=application/dicom; transfer-syntax=1.2`: "abc",
		`Multipart/Related;Boundary=abc`:                                               "abc",
		`multipart/related; type=application/dicom; boundary="a b:c"`:                  "a b:c",
		`application/dicom`:                           "",
		`multipart/related; type="application/dicom"`: "",
	} {
		got, err := multipartBoundary(ct)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("multipartBoundary(%q) = %q, %v; want %q", ct, got, err, want)
		}
	}
}
