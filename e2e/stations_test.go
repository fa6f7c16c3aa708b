package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"imageshare/card"
	"imageshare/internal/browsertest"
	"imageshare/internal/testenv"
	"imageshare/station"
	"imageshare/synthetic"
)

// startStation runs a built station command until the test ends and
// returns the address its ready line gives.
func startStation(t *testing.T, work, program string, args ...string) string {
	return startStationReady(t, work, program, args...).URL
}

// stationReady is a station's ready line.
type stationReady struct {
	Type, URL, Fingerprint string
}

// startStationReady is startStation, returning the whole ready line.
func startStationReady(t *testing.T, work, program string, args ...string) stationReady {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, program), append([]string{"station", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, program+"-state"), "XDG_CONFIG_HOME="+filepath.Join(work, program+"-config"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Ctrl-C stops a station, with exit status 0.
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s station stopped with %v:\n%s", program, err, stderr.String())
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Errorf("%s station did not stop a minute after Ctrl-C:\n%s", program, stderr.String())
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var ready stationReady
		if json.Unmarshal(sc.Bytes(), &ready) == nil && ready.Type == "ready" {
			go func() { // the rest of its lines, unread, must not block it
				for sc.Scan() {
				}
			}()
			return ready
		}
	}
	t.Fatalf("%s station printed no ready line:\n%s", program, stderr.String())
	return stationReady{}
}

// The two stations as hospitals run them, from the built commands: at the
// sending hospital a clerk gives `sender station` the study's folder in
// the page and sends it; the card on its screen is read by the Go decoder
// and zbarimg, and `receiver fetch --qr` completes it from a photo of the
// screen; at the trauma center, `receiver station`'s camera reads the
// same card (kept for several receivers) and staff confirm. Both folders
// received hold exactly the files sent.
func TestStations(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "study")
	if _, err := synthetic.Write(synthetic.Options{Dir: src, PatientName: "ROE^RICHARD", PatientID: "STE-9001",
		StudyDescription: "CT TRAUMA PANSCAN", Series: 2, Images: 5, Rows: 128, Columns: 128, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	senderURL := startStation(t, work, "sender", "--spool", filepath.Join(work, "spool"), "--site", "St Elsewhere ED",
		"--listen", "127.0.0.1:0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0")

	// The sending hospital: the folder, the summary, Send, the card.
	b := browsertest.New(t, browsertest.Options{Width: 1280, Height: 1000})
	run := func(b *browsertest.Browser, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b.Ctx(), steps...); err != nil {
			b.Screenshot(t, "failed")
			t.Fatal(err)
		}
	}
	run(b,
		chromedp.Navigate(senderURL),
		chromedp.WaitVisible(chromedp.CSS("#path")),
		chromedp.SendKeys(chromedp.CSS("#path"), src),
		chromedp.Click(chromedp.CSS("#read-path")),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
	)
	b.Screenshot(t, "sender-summary")
	summary, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#summary")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary, "ROE") || !strings.Contains(summary, "STE-9001") {
		t.Errorf("the summary does not name the patient:\n%s", summary)
	}
	run(b,
		chromedp.Click(chromedp.CSS("#keep")), // a second receiver reads the same card below
		chromedp.Click(chromedp.CSS("#send")),
		chromedp.WaitVisible(chromedp.CSS("#card-img")),
	)
	if _, err := chromedp.Run(b.Ctx(), chromedp.Poll[bool](`(function(i){return i.complete && i.naturalWidth > 0})(document.getElementById("card-img"))`)); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "sender-card")
	shot, err := chromedp.Run(b.Ctx(), chromedp.Screenshot(chromedp.CSS("#card-img")))
	if err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(work, "card-on-screen.png")
	if err := os.WriteFile(photo, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	uri, err := card.DecodeImage(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the card on the sender station's screen does not decode: %v", err)
	}
	if _, err := exec.LookPath("zbarimg"); err != nil {
		testenv.Missing(t, "zbarimg (Debian zbar-tools) reads the card as a second decoder: %v", err)
	}
	zbar, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", photo).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(zbar)); got != uri {
		t.Fatalf("zbarimg read %q, the Go decoder %q", got, uri)
	}
	if loc, err := chromedp.Run(b.Ctx(), chromedp.Location()); err != nil || strings.Contains(strings.ToUpper(loc), "IMAGESHARE") {
		t.Errorf("the page's address %q (%v) holds the card", loc, err)
	}

	// "Print": the card alone on an A6 page, the size of a postcard.
	printURL, err := chromedp.Run(b.Ctx(), chromedp.Evaluate[string](`document.getElementById("print").href`))
	if err != nil {
		t.Fatal(err)
	}
	// The page opens the print dialog by itself; here the dialog is a flag,
	// and the page is printed to PDF instead.
	run(b,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `window.print = function () { window.printDialogOpened = true; };`})
			return err
		}),
		chromedp.Navigate(printURL),
		chromedp.WaitVisible(chromedp.CSS("img.printed")),
	)
	if _, err := chromedp.Run(b.Ctx(), chromedp.Poll[bool](`(function(i){return i.complete && i.naturalWidth > 0 && window.printDialogOpened === true})(document.querySelector("img.printed"))`)); err != nil {
		t.Fatalf("the print page did not show the card and open the print dialog: %v", err)
	}
	b.Screenshot(t, "sender-print")
	pdf, err := chromedp.Run(b.Ctx(), func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		prefer := true
		res, err := cdp.Call(ctx, tg, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &prefer})
		return res.Data, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.ArtifactsDir(t), "card-a6.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	// A6 is 105 × 148 mm: 297.6 × 419.5 points.
	boxes := regexp.MustCompile(`/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]`).FindAllSubmatch(pdf, -1)
	if len(boxes) != 1 {
		t.Fatalf("the printed card has %d pages, want 1", len(boxes))
	}
	w, _ := strconv.ParseFloat(string(boxes[0][1]), 64)
	h, _ := strconv.ParseFloat(string(boxes[0][2]), 64)
	if math.Abs(w-297.6) > 1 || math.Abs(h-419.5) > 1 {
		t.Errorf("the printed page is %.1f × %.1f points, want A6 (297.6 × 419.5)", w, h)
	}

	// The printed card scans: rendered at 150 dpi, a modest office printer.
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		testenv.Missing(t, "pdftoppm (Debian poppler-utils) renders the printed card: %v", err)
	} else {
		pdfFile := filepath.Join(browsertest.ArtifactsDir(t), "card-a6.pdf")
		if out, err := exec.Command("pdftoppm", "-r", "150", "-png", "-singlefile", pdfFile, filepath.Join(work, "printed")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
		f, err := os.Open(filepath.Join(work, "printed.png"))
		if err != nil {
			t.Fatal(err)
		}
		printed, err := card.DecodeImage(f)
		f.Close()
		if err != nil || printed != uri {
			t.Errorf("the printed A6 card reads as %.20q… (%v), want the card on the screen", printed, err)
		}
	}

	// One trauma center: receiver fetch --qr, from the photo of the screen.
	fetched := filepath.Join(work, "fetched")
	fetch := exec.Command(filepath.Join(binDir, "receiver"), "fetch", "--yes", "--qr", photo, "--out", fetched)
	fetch.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "fetch-state"))
	out, err := fetch.Output()
	if err != nil {
		t.Fatalf("receiver fetch --qr: %v\n%s", err, stderrOf(err))
	}
	compareTrees(t, src, strings.TrimSpace(string(out)))

	// Another: receiver station, its camera showing the same card.
	received := filepath.Join(work, "received")
	receiverURL := startStation(t, work, "receiver", "--out", received, "--listen", "127.0.0.1:0")
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	cam := browsertest.New(t, browsertest.Options{Camera: browsertest.CameraScene(img, 1280, 720)})
	run(cam,
		chromedp.Navigate(receiverURL),
		chromedp.WaitVisible(chromedp.CSS("#offer-title")),
	)
	cam.Screenshot(t, "receiver-confirm")
	who, err := chromedp.Run(cam.Ctx(), chromedp.Text(chromedp.CSS("#offer")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, "ROE") || !strings.Contains(who, "St Elsewhere ED") {
		t.Errorf("the receiver station shows:\n%s", who)
	}
	run(cam,
		chromedp.Click(chromedp.CSS("#yes")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
	)
	cam.Screenshot(t, "receiver-done")
	dir, err := chromedp.Run(cam.Ctx(), chromedp.Text(chromedp.CSS("#dir")))
	if err != nil {
		t.Fatal(err)
	}
	compareTrees(t, src, strings.TrimSpace(dir))
	for _, b := range []*browsertest.Browser{b, cam} {
		if errs := b.ConsoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %q", errs)
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// A station reached over TLS with a login, as on a hospital network: IT
// adds a login with `receiver station password` (the password piped in,
// never an argument); the station makes its self-signed certificate and
// prints its fingerprint, which is the certificate it serves; the browser
// is sent to the login page, a wrong password is refused, the right one
// opens the page, and the camera works there (a secure context). Both
// logins are in the audit trail.
func TestStationLogin(t *testing.T) {
	work := t.TempDir()
	passwords := filepath.Join(work, "station-passwords")
	add := exec.Command(filepath.Join(binDir, "receiver"), "station", "password", "--password-file", passwords, "--user", "clerk")
	add.Stdin = strings.NewReader("night shift password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("receiver station password: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(passwords); err != nil || strings.Contains(string(b), "night shift") || !strings.Contains(string(b), "clerk:$argon2id$") {
		t.Fatalf("the password file (%v):\n%s", err, b)
	}
	trail := filepath.Join(work, "audit.jsonl")
	ready := startStationReady(t, work, "receiver", "--out", filepath.Join(work, "received"), "--listen", "127.0.0.1:0",
		"--self-signed", "--password-file", passwords, "--audit", trail)
	if !strings.HasPrefix(ready.URL, "https://") || len(ready.Fingerprint) != 95 {
		t.Fatalf("ready: %+v", ready)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(ready.URL, "https://"), "/")
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := station.Fingerprint(conn.ConnectionState().PeerCertificates[0].Raw); got != ready.Fingerprint {
		t.Errorf("the station serves a certificate of fingerprint %s and printed %s", got, ready.Fingerprint)
	}
	conn.Close()

	scene := image.NewGray(image.Rect(0, 0, 1280, 720)) // the camera sees a desk
	b := browsertest.New(t, browsertest.Options{IgnoreCertErrors: true, Camera: scene})
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b.Ctx(), steps...); err != nil {
			b.Screenshot(t, "failed")
			t.Fatal(err)
		}
	}
	run(chromedp.Navigate(ready.URL), chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)))
	b.Screenshot(t, "login")
	run(
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "clerk"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "a wrong password"),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)),
	)
	if msg, _ := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("p.error"))); !strings.Contains(msg, "Wrong name or password") {
		t.Errorf("a wrong password shows %q", msg)
	}
	run(
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "clerk"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "night shift password"),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS("#scan")),
	)
	if _, err := chromedp.Run(b.Ctx(), chromedp.Poll[bool](`document.getElementById("camera-status").textContent.indexOf("Camera on") === 0`)); err != nil {
		status, _ := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#camera-status")))
		t.Fatalf("after the login, the camera did not start over https: %q (%v)", status, err)
	}
	b.Screenshot(t, "logged-in")
	for _, e := range b.ConsoleErrors() {
		// The wrong password's answer is a 401, which Chromium logs.
		if !strings.Contains(e, "status of 401") || !strings.Contains(e, "/login") {
			t.Errorf("console error: %q", e)
		}
	}

	// The trail is written in the background: wait for both logins.
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(trail)
		failed, ok := 0, 0
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, `"110114"`) && strings.Contains(line, `"clerk"`) {
				if strings.Contains(line, "wrong name or password") {
					failed++
				} else {
					ok++
				}
			}
		}
		if failed == 1 && ok == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit trail holds %d failed and %d successful logins of clerk, want 1 and 1:\n%s", failed, ok, data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
