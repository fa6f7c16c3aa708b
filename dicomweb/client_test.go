package dicomweb

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		base, want string // want "" for an error
	}{
		{"http://127.0.0.1:8042/dicom-web", "http://127.0.0.1:8042/dicom-web"},
		{"https://pacs.example.org/dicom-web/", "https://pacs.example.org/dicom-web"},
		{"http://alice:s3cr3t-pw@pacs:8042/dicom-web", "http://pacs:8042/dicom-web"},
		{"http://pacs:8042", "http://pacs:8042"},
		{"ftp://pacs/dicom-web", ""},
		{"pacs:8042/dicom-web", ""},
		{"http:///dicom-web", ""},
		{"http://pacs/dicom-web?x=1", ""},
		{"", ""},
	} {
		c, err := New(tc.base, nil)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("New(%q): no error", tc.base)
		case tc.want != "" && err != nil:
			t.Errorf("New(%q): %v", tc.base, err)
		case tc.want != "" && c.Base != tc.want:
			t.Errorf("New(%q).Base = %q, want %q", tc.base, c.Base, tc.want)
		}
	}
}

// TestNoPasswordInErrors makes every kind of error with a URL that holds a
// user and password, and checks that none shows them.
func TestNoPasswordInErrors(t *testing.T) {
	for _, base := range []string{
		"ftp://alice:s3cr3t-pw@pacs/dicom-web",
		"http://alice:s3cr3t-pw@pacs:port/dicom-web",
		"http://alice:s3cr3t-pw@pacs/dicom-web?x=1",
		"http://alice:s3cr3t-pw@[::1/dicom-web",
		"alice:s3cr3t-pw@pacs",
		"http://alice:s3cr3t-pw@pacs/%zz",
	} {
		if _, err := New(base, nil); err == nil {
			t.Errorf("New(%q): no error", base)
		} else {
			noSecret(t, "New error", err.Error())
		}
	}

	var gotUser, gotPass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		if strings.HasSuffix(r.URL.Path, "/instances") {
			http.Error(w, "oops", http.StatusInternalServerError)
			return
		}
		http.Error(w, "not here", http.StatusNotFound)
	}))
	defer srv.Close()
	c, err := New(strings.Replace(srv.URL, "http://", "http://alice:s3cr3t-pw@", 1)+"/dicom-web", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.retryDelay = 1
	noSecret(t, "Base", c.Base)
	_, err = c.Instances(t.Context(), "1.2.3")
	if err == nil {
		t.Fatal("HTTP 500: no error")
	}
	noSecret(t, "QIDO-RS error", err.Error())
	if gotUser != "alice" || gotPass != "s3cr3t-pw" {
		t.Errorf("basic auth %q %q, want alice and the password", gotUser, gotPass)
	}
	_, err = c.RetrieveStudy(t.Context(), "1.2.3", t.TempDir(), nil)
	if err == nil {
		t.Fatal("HTTP 404: no error")
	}
	noSecret(t, "WADO-RS error", err.Error())

	// A PACS that is not there: refused connections.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, base := range []string{"http://alice:s3cr3t-pw@" + addr + "/dicom-web"} {
		c, err := New(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.retryDelay = 1
		res, err := c.Store(t.Context(), fakeInstances(t, 2, 100), StoreOptions{})
		if err == nil {
			t.Fatal("Store to nowhere: no error")
		}
		noSecret(t, "STOW-RS error", err.Error())
		for _, f := range res.Failed {
			noSecret(t, "failure text", f.Text)
		}
		_, err = c.SearchStudies(t.Context(), StudyQuery{})
		noSecret(t, "QIDO-RS error", err.Error())
	}

	// A Client made without New, its Base holding the password.
	c = &Client{Base: "http://alice:s3cr3t-pw@" + addr + "/dicom-web"}
	_, err = c.Instances(t.Context(), "1.2.3")
	if err == nil {
		t.Fatal("no error")
	}
	noSecret(t, "error of a Client made without New", err.Error())
}

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"  short  ":             "short",
		"two\r\nlines\tand tab": "two lines and tab",
		"bin\x00\x01ary":        "bin??ary",
		"bad \xff utf-8":        "bad ? utf-8",
	} {
		if got := excerpt([]byte(in)); got != want {
			t.Errorf("excerpt(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithCredentials(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("imageshare:s3cret-Pw\n"), 0o600)
	base, err := WithCredentials("http://127.0.0.1:8042/dicom-web", good)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Base, "s3cret") {
		t.Errorf("Base %q shows the password", c.Base)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("s3cret-Pw-without-user\n"), 0o600)
	if _, err := WithCredentials("http://127.0.0.1:8042/dicom-web", bad); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a file without user: gave %v", err)
	}
	if b, err := WithCredentials("http://x/dicom-web", ""); err != nil || b != "http://x/dicom-web" {
		t.Errorf("no file: %q, %v", b, err)
	}
}
