package dicomweb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDICOM is a file that starts like DICOM (preamble and DICM) and says
// its SOP Instance UID after a marker, so that fake servers can read it.
func fakeDICOM(uid string, size int) []byte {
	b := make([]byte, dicmOffset, max(size, dicmOffset+64))
	b = append(b, "DICM"...)
	b = append(b, "UID="+uid+";"...)
	for len(b) < size {
		b = append(b, byte(len(b)))
	}
	return b
}

// uidIn reads the UID that fakeDICOM put in a file.
func uidIn(b []byte) string {
	_, rest, ok := bytes.Cut(b, []byte("UID="))
	if !ok {
		return ""
	}
	uid, _, _ := bytes.Cut(rest, []byte(";"))
	return string(uid)
}

// fakeInstances writes n fake files of size bytes into a temporary folder.
func fakeInstances(t *testing.T, n, size int) []Instance {
	t.Helper()
	dir := t.TempDir()
	var out []Instance
	for i := range n {
		uid := fmt.Sprintf("1.2.826.0.1.3680043.2.1125.%d", i+1)
		path := filepath.Join(dir, fmt.Sprintf("f%03d.dcm", i+1))
		if err := os.WriteFile(path, fakeDICOM(uid, size), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, Instance{Path: path, SOPInstanceUID: uid, SOPClassUID: "1.2.840.10008.5.1.4.1.1.2"})
	}
	return out
}

func uids(instances []Instance) []string {
	out := make([]string, len(instances))
	for i, in := range instances {
		out[i] = in.SOPInstanceUID
	}
	return out
}

func failedUIDs(fs []Failure) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.SOPInstanceUID
	}
	return out
}

// stowAnswer is a STOW-RS answer in DICOM JSON: the stored UIDs in the
// Referenced SOP Sequence, the failed ones with their reasons in the
// Failed SOP Sequence.
func stowAnswer(stored []string, failed map[string]uint16) []byte {
	item := func(uid string) map[string]any {
		return map[string]any{
			tagReferencedSOPClassUID:    map[string]any{"vr": "UI", "Value": []string{"1.2.840.10008.5.1.4.1.1.2"}},
			tagReferencedSOPInstanceUID: map[string]any{"vr": "UI", "Value": []string{uid}},
		}
	}
	var refs, fails []any
	for _, uid := range stored {
		refs = append(refs, item(uid))
	}
	for uid, reason := range failed {
		it := item(uid)
		it[tagFailureReason] = map[string]any{"vr": "US", "Value": []int{int(reason)}}
		fails = append(fails, it)
	}
	seq := func(items []any) map[string]any {
		if len(items) == 0 {
			return map[string]any{"vr": "SQ"}
		}
		return map[string]any{"vr": "SQ", "Value": items}
	}
	b, _ := json.Marshal(map[string]any{tagReferencedSOPSequence: seq(refs), tagFailedSOPSequence: seq(fails)})
	return b
}

// A stowServer is a fake PACS's STOW-RS endpoint at /dicom-web/studies.
// It checks each request's framing, reads the UIDs of its parts, and lets
// answer reply; n counts requests from 1.
type stowServer struct {
	t      *testing.T
	answer func(w http.ResponseWriter, n int, uids []string)
	// cutBodies: requests may end early, on purpose of the test.
	cutBodies bool

	mu       sync.Mutex
	requests [][]string // the UIDs of each request
}

func newStowServer(t *testing.T, answer func(w http.ResponseWriter, n int, uids []string)) (*stowServer, *Client) {
	s := &stowServer{t: t, answer: answer}
	return s, newTestClient(t, s)
}

// newTestClient serves h on loopback and returns a client of it whose
// retries wait a millisecond.
func newTestClient(t *testing.T, h http.Handler) *Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/dicom-web/", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.retryDelay = time.Millisecond
	return c
}

func (s *stowServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/dicom-web/studies" {
		s.t.Errorf("STOW-RS request %s %s, want POST /dicom-web/studies", r.Method, r.URL.Path)
		http.Error(w, "no", http.StatusNotFound)
		return
	}
	if r.ContentLength <= 0 || len(r.TransferEncoding) > 0 {
		s.t.Errorf("STOW-RS request without a length: Content-Length %d, Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/related" || params["type"] != "application/dicom" || params["boundary"] == "" {
		s.t.Errorf("STOW-RS Content-Type %q", r.Header.Get("Content-Type"))
	}
	if got := r.Header.Get("Accept"); got != "application/dicom+json" {
		s.t.Errorf("STOW-RS Accept %q", got)
	}
	var got []string
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !s.cutBodies {
				s.t.Errorf("STOW-RS body: %v", err)
			}
			return
		}
		if ct := p.Header.Get("Content-Type"); ct != "application/dicom" {
			s.t.Errorf("part Content-Type %q, want application/dicom", ct)
		}
		b, err := io.ReadAll(p)
		if err != nil && s.cutBodies {
			return
		}
		if len(b) < dicmOffset+4 || !bytes.Equal(b[dicmOffset:dicmOffset+4], []byte("DICM")) {
			s.t.Errorf("a part does not hold the file sent")
		}
		got = append(got, uidIn(b))
	}
	s.mu.Lock()
	s.requests = append(s.requests, got)
	n := len(s.requests)
	s.mu.Unlock()
	s.answer(w, n, got)
}

func (s *stowServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// answerJSON writes a DICOM JSON answer with a status.
func answerJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/dicom+json")
	w.WriteHeader(status)
	w.Write(body)
}

// noSecret fails t if s shows the user or password of the test URLs.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{"s3cr3t-pw", "alice"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows %q: %s", what, secret, s)
		}
	}
}
