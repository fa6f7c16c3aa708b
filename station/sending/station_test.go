package sending_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/e2e/orthanc"
	"imageshare/internal/browsertest"
	"imageshare/internal/testenv"
	"imageshare/receive"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/station"
	"imageshare/station/sending"
	"imageshare/synthetic"
)

// stationFor starts a sender station on loopback, port 0, with a spool of
// its own, serving offers on loopback; it stops with the test.
func stationFor(t *testing.T, pacs send.PACS) (url string, sp *spool.Spool) {
	t.Helper()
	dir := t.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit-sender.jsonl")
	trail, err := audit.OpenTrail("sender", auditPath, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	page, err := sending.New(sending.Config{Spool: sp, Site: "St Elsewhere ED", PACS: pacs,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Trail: trail, AuditPath: auditPath, Me: audit.Local("sender", "St Elsewhere ED")})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := station.New(station.Config{Name: "sender station", Listen: "127.0.0.1:0"}, page)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { srv.Serve(ctx); done <- struct{}{} }()
	go func() {
		if err := page.Run(ctx); err != nil {
			t.Errorf("the page stopped serving: %v", err)
		}
		done <- struct{}{}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		trail.Close()
	})
	return srv.URL(), sp
}

// writeStudy writes a small synthetic study of one patient into dir.
func writeStudy(t *testing.T, dir, name, id, desc string, seed int64) *synthetic.Result {
	t.Helper()
	r, err := synthetic.Write(synthetic.Options{Dir: dir, PatientName: name, PatientID: id, StudyDescription: desc,
		Series: 2, Images: 3, Rows: 128, Columns: 128, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func do(t *testing.T, b *browsertest.Browser, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.Ctx(), steps...); err != nil {
		b.Screenshot(t, "failed")
		t.Fatal(err)
	}
}

func text(t *testing.T, b *browsertest.Browser, css string) string {
	t.Helper()
	s, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cardShown takes the card as the page shows it (a screenshot of its
// image on the screen), keeps it with the screenshots, and reads it with
// the project's decoder and with zbarimg: both must give the same URI.
func cardShown(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	do(t, b, chromedp.WaitVisible(chromedp.CSS("#card-img")))
	if _, err := chromedp.Run(b.Ctx(), chromedp.Poll[bool](`(function(i){return i.complete && i.naturalWidth > 0})(document.getElementById("card-img"))`)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(b.Ctx(), chromedp.Screenshot(chromedp.CSS("#card-img")))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(browsertest.ArtifactsDir(t), "card-as-shown.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		t.Fatal(err)
	}
	uri, err := card.DecodeImage(bytes.NewReader(png))
	if err != nil {
		t.Fatalf("the card on the page does not decode: %v", err)
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		testenv.Missing(t, "zbarimg (Debian zbar-tools) reads the card as another decoder: %v", err)
		return uri
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != uri {
		t.Fatalf("zbarimg read the card as %q, the Go decoder as %q", got, uri)
	}
	return uri
}

// fetch is the trauma center: it fetches the card's study into a folder
// and returns how many files arrived verified.
func fetch(t *testing.T, uri string) *receive.Result {
	t.Helper()
	offer, err := card.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := receive.Fetch(ctx, receive.Options{Out: t.TempDir(), Timeout: 20 * time.Second, RetryFor: 20 * time.Second, Connections: 1}, offer, nil)
	if err != nil {
		t.Fatalf("receive.Fetch: %v", err)
	}
	return res
}

func countFiles(t *testing.T, dir, ext string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) && !strings.Contains(p, ".imageshare") {
			n++
		}
		return nil
	})
	return n
}

// TestSendFromPACS is the sending site's main path: search the real
// Orthanc by patient ID, pick the study, read its summary, send, and the
// card on the screen reads (Go and zbarimg) as a card that a real fetch
// completes; the page then shows the offer delivered.
func TestSendFromPACS(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	pacs := ns.Start(t)
	res := writeStudy(t, t.TempDir(), "DOE^JANE", "PAT123", "CT CHEST ABDOMEN", 1)
	pacs.Upload(t, res.Files...)
	url, _ := stationFor(t, send.PACS{URL: pacs.DICOMwebURL, HTTPClient: ns.HTTPClient()})

	b := browsertest.New(t, browsertest.Options{Width: 1280, Height: 1000})
	do(t, b,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#patient-id")),
		chromedp.SendKeys(chromedp.CSS("#patient-id"), "PAT123"),
		chromedp.Click(chromedp.CSS("#search")),
		chromedp.WaitVisible(chromedp.CSS(`#results tbody tr`)),
	)
	b.Screenshot(t, "search")
	row := text(t, b, "#results tbody tr")
	for _, want := range []string{"CT CHEST ABDOMEN", "DOE, JANE"} {
		if !strings.Contains(row, want) {
			t.Errorf("the study's row %q lacks %q", row, want)
		}
	}
	if s, i := text(t, b, "#results tbody tr td.series"), text(t, b, "#results tbody tr td.images"); s != "2" || i != "6" {
		t.Errorf("the row shows %s series and %s images, want 2 and 6", s, i)
	}

	do(t, b,
		chromedp.Click(chromedp.CSS(`#results tbody tr button.pick`)),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
	)
	b.Screenshot(t, "summary")
	if s := text(t, b, "#summary"); !strings.Contains(s, "DOE, JANE") || !strings.Contains(s, "PAT123") {
		t.Errorf("the summary %q does not name the patient", s)
	}

	do(t, b, chromedp.Click(chromedp.CSS("#send")))
	uri := cardShown(t, b)
	b.Screenshot(t, "card")
	if s := text(t, b, "#card-patient"); s != "DOE, JANE" {
		t.Errorf("the card screen names %q", s)
	}

	got := fetch(t, uri)
	if n := countFiles(t, got.Dir, ".dcm"); n != len(res.Files) {
		t.Errorf("%d files arrived verified, want %d", n, len(res.Files))
	}

	do(t, b,
		chromedp.Click(chromedp.CSS("#card-done")),
		chromedp.WaitVisible(chromedp.CSS(`#offers tr[data-state="delivered"]`)),
	)
	b.Screenshot(t, "delivered")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// TestSendFromFolder: a folder of two patients is refused in plain words;
// a folder of one is sent with a passcode made by the station, shown on
// the card screen; the offer is revoked after a confirmation, and its
// audit events are shown.
func TestSendFromFolder(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one")
	writeStudy(t, one, "ROE^RICHARD", "PAT456", "CT HEAD", 2)
	two := filepath.Join(dir, "two")
	writeStudy(t, filepath.Join(two, "a"), "ROE^RICHARD", "PAT456", "CT HEAD", 2)
	writeStudy(t, filepath.Join(two, "b"), "POE^EDGAR", "PAT789", "CT SPINE", 3)
	url, sp := stationFor(t, send.PACS{})

	b := browsertest.New(t, browsertest.Options{Width: 1280, Height: 1000})
	do(t, b,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#path")),
		chromedp.SendKeys(chromedp.CSS("#path"), two),
		chromedp.Click(chromedp.CSS("#read-path")),
		chromedp.WaitVisible(chromedp.CSS("#refusal-text")),
	)
	b.Screenshot(t, "two-patients")
	if s := text(t, b, "#refusal-text"); !strings.Contains(s, "2 different patients") || !strings.Contains(s, "A card travels with one patient") {
		t.Errorf("the refusal says %q", s)
	}

	do(t, b,
		chromedp.Click(chromedp.CSS("#back")),
		chromedp.WaitVisible(chromedp.CSS("#path")),
		chromedp.SetValue(chromedp.CSS("#path"), one),
		chromedp.Click(chromedp.CSS("#read-path")),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
		chromedp.Click(chromedp.CSS("#passcode-generate")),
	)
	b.Screenshot(t, "summary")
	do(t, b, chromedp.Click(chromedp.CSS("#send")))
	uri := cardShown(t, b)
	b.Screenshot(t, "card-with-passcode")
	if p := text(t, b, "#passcode"); !regexp.MustCompile(`^\d{4}-\d{4}$`).MatchString(p) {
		t.Errorf("the passcode shown is %q", p)
	}
	offer, err := card.ParseURI(uri)
	if err != nil || !offer.Passcode {
		t.Fatalf("the card %v says no passcode is needed", err)
	}

	row := `#offers tr[data-offer="` + offer.ID.String() + `"]`
	do(t, b,
		chromedp.Click(chromedp.CSS("#card-done")),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="waiting"]`)),
		chromedp.Click(chromedp.CSS(row+" button.revoke")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-yes")),
	)
	b.Screenshot(t, "revoke-confirm")
	if sp.IsRevoked(offer.ID) {
		t.Fatal("revoked before the confirmation")
	}
	do(t, b,
		chromedp.Click(chromedp.CSS("#confirm-yes")),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="revoked"]`)),
		chromedp.Click(chromedp.CSS(row+" button.show-audit")),
		chromedp.WaitVisible(chromedp.CSS("#audit-events li")),
	)
	b.Screenshot(t, "revoked")
	if !sp.IsRevoked(offer.ID) {
		t.Error("the spool does not have the offer revoked")
	}
	if s := text(t, b, "#audit-events"); !strings.Contains(strings.ToLower(s), "revoked") {
		t.Errorf("the offer's audit events %q do not say it was revoked", s)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// TestCSRF: a request that changes something without the session's CSRF
// token is refused, and with it reaches the page.
func TestCSRF(t *testing.T) {
	url, _ := stationFor(t, send.PACS{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindSubmatch(page)
	if m == nil {
		t.Fatal("the page has no CSRF token")
	}
	body := `{"offer":"0011223344556677"}`
	for _, tt := range []struct {
		token string
		want  int
	}{{"", http.StatusForbidden}, {"wrong", http.StatusForbidden}, {string(m[1]), http.StatusNotFound}} {
		req, _ := http.NewRequest(http.MethodPost, url+"api/revoke", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tt.token != "" {
			req.Header.Set("X-CSRF-Token", tt.token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer map[string]string
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("token %q: %d %v, want %d", tt.token, resp.StatusCode, answer, tt.want)
		}
	}
}

// TestUploadZipWithReport: a zip uploaded from the browser is read as
// sender send reads one, a report uploaded with the send goes with the
// study, and both arrive at the trauma center.
func TestUploadZipWithReport(t *testing.T) {
	dir := t.TempDir()
	res := writeStudy(t, filepath.Join(dir, "study"), "ROE^JANE", "PAT321", "CT PELVIS", 4)
	zipPath := filepath.Join(dir, "CT_PELVIS.zip")
	zipFolder(t, filepath.Join(dir, "study"), zipPath)
	report := filepath.Join(dir, "report.txt")
	if err := os.WriteFile(report, []byte("CT pelvis: no fracture.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _ := stationFor(t, send.PACS{})

	b := browsertest.New(t, browsertest.Options{Width: 1280, Height: 1000})
	do(t, b,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#show-zip")),
		chromedp.Click(chromedp.CSS("#show-zip")),
		chromedp.WaitVisible(chromedp.CSS("#zip")),
		chromedp.SetUploadFiles(chromedp.CSS("#zip"), []string{zipPath}),
		chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
	)
	if s := text(t, b, "#source"); !strings.Contains(s, "CT_PELVIS.zip") {
		t.Errorf("the source is %q", s)
	}
	do(t, b, chromedp.SetUploadFiles(chromedp.CSS("#report"), []string{report}))
	b.Screenshot(t, "zip-summary")
	do(t, b, chromedp.Click(chromedp.CSS("#send")))
	uri := cardShown(t, b)
	got := fetch(t, uri)
	if n := countFiles(t, got.Dir, ".dcm"); n != len(res.Files) {
		t.Errorf("%d files arrived verified, want %d", n, len(res.Files))
	}
	if n := countFiles(t, got.Dir, "report.txt"); n != 1 {
		t.Errorf("%d reports arrived, want 1", n)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func zipFolder(t *testing.T, dir, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
