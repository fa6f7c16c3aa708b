package receiving

import (
	"context"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"imageshare/dicomweb"
	"imageshare/e2e/orthanc"
	"imageshare/internal/browsertest"
	"imageshare/receive"
)

// wait waits, in the page, until the element sel holds text; it fails the
// test with what the page says otherwise.
func waitText(t *testing.T, b *browsertest.Browser, sel, text string) {
	t.Helper()
	js := `(function(){var e=document.querySelector(` + quote(sel) + `);return !!e && !e.closest("[hidden]") && e.textContent.indexOf(` + quote(text) + `)>=0})()`
	if _, err := chromedp.Run(b.Ctx(), chromedp.Poll[bool](js)); err != nil {
		b.Screenshot(t, "waiting-failed")
		page, _ := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("waiting for %q in %s: %v; the page says:\n%s", text, sel, err, page)
	}
}

func quote(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }

// The trauma center's whole use of the page: the station's camera reads
// the card a patient's phone shows, the page shows who and what the study
// is, staff confirm with a local patient ID, every file arrives verified,
// each series has its thumbnail, the report can be read, and the study is
// in the PACS (a real Orthanc) under the local ID.
func TestReceiveWithCamera(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	pacs := ns.Start(t, orthanc.Name("TRAUMA_PACS"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	snd := startSender(t, ctx, "")
	out := t.TempDir()
	url := serve(t, Config{Out: out, Fetch: receive.Options{Timeout: 20 * time.Second, RetryFor: time.Minute},
		PACS: pacs.DICOMwebURL, HTTPClient: ns.HTTPClient(), Issuer: "TRAUMA-CENTER"})

	b := browsertest.New(t, browsertest.Options{Camera: browsertest.CameraScene(snd.cardImage(t), 1280, 720)})
	if err := chromedp.Do(b.Ctx(), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#scan"))); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "scan")

	// The camera reads the card; the page asks whether it is our patient.
	waitText(t, b, "#offer-title", "Is this your patient?")
	waitText(t, b, "#path", "direct")
	b.Screenshot(t, "confirm")
	name, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS(".patient-name")))
	if err != nil || name != "DOE, JANE" {
		t.Errorf("patient shown as %q (%v), want DOE, JANE", name, err)
	}
	rows, err := chromedp.Run(b.Ctx(), chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#series-rows tr")).map(r => r.textContent)`))
	if err != nil || len(rows) != 2 {
		t.Fatalf("series rows %q (%v), want 2", rows, err)
	}
	for _, r := range rows {
		if !strings.Contains(r, "CT") || !strings.Contains(r, "4") {
			t.Errorf("series row %q does not say CT and its 4 images", r)
		}
	}
	site, _ := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#site")))
	if site != "St Elsewhere General Hospital" {
		t.Errorf("site shown as %q", site)
	}

	// Confirm, filing it under our patient ID (the issuer is prefilled).
	if err := chromedp.Do(b.Ctx(), chromedp.SendKeys(chromedp.CSS("#local-id"), "MRN0042"),
		chromedp.Click(chromedp.CSS("#yes"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#done-message", "Received and verified")
	waitText(t, b, "#import-result", "instances are in the PACS")
	b.Screenshot(t, "received")

	dir, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#dir")))
	if err != nil {
		t.Fatal(err)
	}
	snd.checkArrived(t, dir)

	// A thumbnail for each series, an image the browser decoded.
	widths, err := chromedp.Run(b.Ctx(), chromedp.Evaluate[[]int](`Array.from(document.querySelectorAll("#thumbs img")).map(i => i.complete ? i.naturalWidth : 0)`))
	if err != nil || len(widths) != 2 || widths[0] == 0 || widths[1] == 0 {
		t.Errorf("thumbnails' natural widths %v (%v), want two images", widths, err)
	}
	for _, n := range []string{"0", "1"} {
		res, err := http.Get(url + "api/thumb/" + n + ".png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(res.Body)
		res.Body.Close()
		if err != nil || img.Bounds().Dx() == 0 {
			t.Errorf("thumbnail %s: %v", n, err)
		}
	}
	// The report, as text.
	waitText(t, b, "#report-text", "no acute intracranial haemorrhage")

	// The PACS holds the study, under our patient ID (QIDO-RS).
	client, err := dicomweb.New(pacs.DICOMwebURL, ns.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	matches, err := client.SearchStudies(ctx, dicomweb.StudyQuery{PatientID: "MRN0042"})
	if err != nil || len(matches) != 1 || matches[0].StudyInstanceUID != snd.summary.StudyUID {
		t.Fatalf("QIDO-RS for MRN0042 found %+v (%v), want the study", matches, err)
	}
	if got := pacs.Instances(t, snd.summary.StudyUID); len(got) != 9 {
		t.Errorf("the PACS holds %d instances, want 8 images and the report", len(got))
	}
	result, _ := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#import-result")))
	if result != "All 9 instances are in the PACS." {
		t.Errorf("import result %q", result)
	}
	// The sender had its receipt.
	if <-snd.done; snd.err != nil {
		t.Errorf("sender: %v", snd.err)
	}
	// The history lists it once the page is loaded again.
	if err := chromedp.Do(b.Ctx(), chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#history", "DOE, JANE")
	waitText(t, b, "#history", "in the PACS")
	b.Screenshot(t, "history")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// A text that is not a card, typed or pasted, is said in plain words, and
// the page goes on waiting for a card.
func TestWrongCardText(t *testing.T) {
	url := serve(t, Config{})
	b := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(b.Ctx(), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#card-text")),
		chromedp.SendKeys(chromedp.CSS("#card-text"), "PATIENT 4471 DOE JANE\n")); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#scan-problem-message", "This is not an imageshare card.")
	waitText(t, b, "#scan-problem-advice", "type or scan its text")
	b.Screenshot(t, "wrong-card")
	if err := chromedp.Do(b.Ctx(), chromedp.WaitVisible(chromedp.CSS("#scan"))); err != nil {
		t.Fatal(err)
	}
}

// A POST without the page's CSRF token is refused before the page sees
// it: a page of another site cannot start a fetch.
func TestCardWithoutToken(t *testing.T) {
	url := serve(t, Config{})
	res, err := http.Post(url+"api/card", "application/json", strings.NewReader(`{"text":"IMAGESHARE:V1:AAAA"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("POST api/card without a token: %s, want 403", res.Status)
	}
}

// A photo of a card that needs a passcode: the server reads the photo, the
// page asks for the passcode, and the study arrives (no PACS here).
func TestPhotoAndPasscode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	snd := startSender(t, ctx, "447102")
	photo := filepath.Join(t.TempDir(), "card.png")
	if err := os.WriteFile(photo, snd.cardPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	url := serve(t, Config{Fetch: receive.Options{Timeout: 20 * time.Second, RetryFor: time.Minute}})
	b := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(b.Ctx(), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#photo")),
		chromedp.SetUploadFiles(chromedp.CSS("#photo"), []string{photo})); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.Ctx(), chromedp.WaitVisible(chromedp.CSS("#passcode-input"))); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "passcode")
	if err := chromedp.Do(b.Ctx(), chromedp.SendKeys(chromedp.CSS("#passcode-input"), "447102\n")); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#offer-title", "Is this your patient?")
	if err := chromedp.Do(b.Ctx(), chromedp.Click(chromedp.CSS("#yes"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#done-message", "Received and verified")
	b.Screenshot(t, "received")
	dir, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#dir")))
	if err != nil {
		t.Fatal(err)
	}
	snd.checkArrived(t, dir)
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// A card typed by the USB scanner, and "Not our patient": nothing is
// fetched, the page says so, and it reads the next card.
func TestScannerAndDecline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	snd := startSender(t, ctx, "")
	out := t.TempDir()
	url := serve(t, Config{Out: out, Fetch: receive.Options{Timeout: 20 * time.Second, RetryFor: time.Minute}})
	b := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(b.Ctx(), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#card-text")),
		chromedp.SendKeys(chromedp.CSS("#card-text"), snd.uri+"\n")); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#offer-title", "Is this your patient?")
	if err := chromedp.Do(b.Ctx(), chromedp.Click(chromedp.CSS("#no"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#problem-message", "You said this is not your patient")
	b.Screenshot(t, "declined")
	if studies, _ := filepath.Glob(filepath.Join(out, "study-*")); len(studies) != 0 {
		t.Errorf("a declined study was saved: %v", studies)
	}
	if err := chromedp.Do(b.Ctx(), chromedp.Click(chromedp.CSS("#again")), chromedp.WaitVisible(chromedp.CSS("#scan"))); err != nil {
		t.Fatal(err)
	}
	// The card's text is nowhere in the page, its address or its history.
	html, err := chromedp.Run(b.Ctx(), chromedp.Evaluate[string](`document.documentElement.outerHTML + location.href + history.length`))
	if err != nil || strings.Contains(strings.ToUpper(html), "IMAGESHARE:V1:") && strings.Contains(html, snd.uri[len("IMAGESHARE:V1:"):]) {
		t.Errorf("the card's text is in the page (%v)", err)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// A PACS that is down when the study arrives: the study is saved, the
// page says what is not in the PACS, and "Retry the import" stores it
// once the PACS is back, from the folder.
func TestRetryImport(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	pacs := ns.Start(t, orthanc.Name("TRAUMA_PACS"))
	pacs.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	snd := startSender(t, ctx, "")
	url := serve(t, Config{Fetch: receive.Options{Timeout: 20 * time.Second, RetryFor: time.Minute},
		PACS: pacs.DICOMwebURL, HTTPClient: ns.HTTPClient()})
	b := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(b.Ctx(), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#card-text")),
		chromedp.SendKeys(chromedp.CSS("#card-text"), snd.uri+"\n")); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#offer-title", "Is this your patient?")
	if err := chromedp.Do(b.Ctx(), chromedp.Click(chromedp.CSS("#yes"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#done-message", "Not all of it is in the PACS")
	if err := chromedp.Do(b.Ctx(), chromedp.WaitVisible(chromedp.CSS("#import-retry"))); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "pacs-down")
	dir, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#dir")))
	if err != nil {
		t.Fatal(err)
	}
	snd.checkArrived(t, dir)

	pacs.Restart(t)
	if err := chromedp.Do(b.Ctx(), chromedp.Click(chromedp.CSS("#import-retry"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, b, "#import-result", "All 9 instances are in the PACS.")
	waitText(t, b, "#done-message", "It is in the PACS")
	b.Screenshot(t, "imported")
	if got := pacs.Instances(t, snd.summary.StudyUID); len(got) != 9 {
		t.Errorf("the PACS holds %d instances, want 9", len(got))
	}
}
