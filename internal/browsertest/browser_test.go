package browsertest

import (
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"imageshare/station"
)

// serve serves testdata with the stations' Content-Security-Policy, which
// the test pages must keep as the stations' pages do, on a loopback port:
// a secure context, where getUserMedia works without TLS.
func serve(t *testing.T) string {
	t.Helper()
	return serveWith(t, httptest.NewServer)
}

// serveWith is serve with a server from start, such as
// httptest.NewTLSServer.
func serveWith(t *testing.T, start func(http.Handler) *httptest.Server) string {
	t.Helper()
	files := http.FileServer(http.Dir("testdata"))
	srv := start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", station.CSP)
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// colourNear reports whether got is within tolerance of want in every
// channel: the camera's path (I420, then the browser's conversion back
// to RGB) moves colours a little.
func colourNear(got [3]int, want color.RGBA, tolerance int) bool {
	for i, w := range [3]uint8{want.R, want.G, want.B} {
		if d := got[i] - int(w); d > tolerance || d < -tolerance {
			return false
		}
	}
	return true
}

func TestFakeCamera(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		testFakeCamera(t, Options{}, httptest.NewServer)
	})
	// A station that is not on loopback has TLS, often with its own
	// self-signed certificate: the camera works there too.
	t.Run("https", func(t *testing.T) {
		testFakeCamera(t, Options{IgnoreCertErrors: true}, httptest.NewTLSServer)
	})
}

func testFakeCamera(t *testing.T, o Options, start func(http.Handler) *httptest.Server) {
	// Left half red, right half blue, a white square in the centre, a black
	// square in the bottom left corner and a mid-grey one in the bottom
	// right: the page's samples show that the image arrives whole, the right
	// way up and round, in its colours.
	const w, h = 640, 360
	red := color.RGBA{R: 255, A: 255}
	blue := color.RGBA{B: 255, A: 255}
	white := color.RGBA{R: 255, G: 255, B: 255, A: 255}
	black := color.RGBA{A: 255}
	grey := color.RGBA{R: 128, G: 128, B: 128, A: 255}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(r image.Rectangle, c color.RGBA) {
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	fill(image.Rect(0, 0, w/2, h), red)
	fill(image.Rect(w/2, 0, w, h), blue)
	fill(image.Rect(w/2-60, h/2-60, w/2+60, h/2+60), white)
	fill(image.Rect(0, h-60, 60, h), black)
	fill(image.Rect(w-60, h-60, w, h), grey)

	o.Camera = img
	b := New(t, o)
	url := serveWith(t, start)
	if err := chromedp.Do(b.Ctx(),
		chromedp.Navigate(url+"/camera/"),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "camera")
	text, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#result")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the page saw %s", text)
	var got struct {
		Error                                              string
		Width, Height                                      int
		Centre, TopLeft, TopRight, BottomLeft, BottomRight [3]int
	}
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	if got.Error != "" {
		t.Fatalf("the page could not read the camera: %s", got.Error)
	}
	if got.Width != w || got.Height != h {
		t.Errorf("the camera's frame is %d×%d, want %d×%d", got.Width, got.Height, w, h)
	}
	for _, s := range []struct {
		name string
		got  [3]int
		want color.RGBA
	}{
		{"centre", got.Centre, white},
		{"top left", got.TopLeft, red},
		{"top right", got.TopRight, blue},
		{"bottom left", got.BottomLeft, black},
		{"bottom right", got.BottomRight, grey},
	} {
		if !colourNear(s.got, s.want, 8) {
			t.Errorf("%s: the page saw %v, want about %v", s.name, s.got, s.want)
		}
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func TestScreenshot(t *testing.T) {
	b := New(t, Options{})
	if err := chromedp.Do(b.Ctx(),
		chromedp.Navigate(serve(t)+"/tall/"),
		chromedp.WaitVisible(chromedp.CSS("#top")),
	); err != nil {
		t.Fatal(err)
	}
	first := b.Screenshot(t, "a long page")
	second := b.Screenshot(t, "again")
	if filepath.Dir(first) != ArtifactsDir(t) {
		t.Errorf("screenshot %s is not in %s", first, ArtifactsDir(t))
	}
	if filepath.Base(first) != "01-a_long_page.png" || filepath.Base(second) != "02-again.png" {
		t.Errorf("screenshots named %s, %s", filepath.Base(first), filepath.Base(second))
	}
	f, err := os.Open(first)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", first, err)
	}
	size := img.Bounds().Size()
	t.Logf("screenshot %d×%d", size.X, size.Y)
	if size.X != 1280 {
		t.Errorf("screenshot %d wide, want the window's 1280", size.X)
	}
	// Full page: the spacer alone is 2000 px, more than the 900 px window.
	if size.Y <= 2000 {
		t.Errorf("screenshot %d high, want the whole page, over 2000", size.Y)
	}
}

func TestWindowSize(t *testing.T) {
	b := New(t, Options{Width: 800, Height: 600})
	if err := chromedp.Do(b.Ctx(),
		chromedp.Navigate(serve(t)+"/tall/"),
		chromedp.WaitVisible(chromedp.CSS("#top")),
	); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(b.Ctx(), chromedp.Evaluate[int]("window.innerWidth"))
	if err != nil {
		t.Fatal(err)
	}
	if width != 800 {
		t.Errorf("window.innerWidth %d, want 800", width)
	}
}

func TestConsoleErrors(t *testing.T) {
	b := New(t, Options{})
	if err := chromedp.Do(b.Ctx(),
		chromedp.Navigate(serve(t)+"/errors/"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
	); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "errors")
	for _, want := range []string{
		"deliberate console error",
		"deliberate uncaught exception",
		// The page's inline <script>, refused by the CSP.
		"Content Security Policy",
	} {
		got := b.WaitConsoleError(t, want)
		t.Logf("%q: %s", want, got)
	}
	// The CSP did stop the inline script.
	title, err := chromedp.Run(b.Ctx(), chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "Errors" {
		t.Errorf("title %q: the inline script ran despite the CSP", title)
	}
	if errs := b.ConsoleErrors(); len(errs) < 3 {
		t.Errorf("ConsoleErrors: %q, want at least 3", errs)
	}
}

func TestArtifactsDir(t *testing.T) {
	root := t.TempDir()
	t.Setenv(ArtifactsEnv, root)
	want := filepath.Join(root, "internal", "browsertest", "TestArtifactsDir_a_b_c")
	// A file left by an earlier run.
	stale := filepath.Join(want, "01-stale.png")
	if err := os.MkdirAll(want, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("a/b c", func(t *testing.T) {
		dir := ArtifactsDir(t)
		if dir != want {
			t.Errorf("ArtifactsDir %s, want %s", dir, want)
		}
		if _, err := os.Stat(stale); !os.IsNotExist(err) {
			t.Errorf("the earlier run's file is still there: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "01-now.png"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if again := ArtifactsDir(t); again != dir {
			t.Errorf("second call %s, first %s", again, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "01-now.png")); err != nil {
			t.Errorf("the second call emptied the folder: %v", err)
		}
	})
}

// TestNoCamera: without Options.Camera the browser has no camera, as a
// station's computer without one, and getUserMedia fails.
func TestNoCamera(t *testing.T) {
	b := New(t, Options{})
	if err := chromedp.Do(b.Ctx(),
		chromedp.Navigate(serve(t)+"/camera/"),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#result")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the page saw %s", text)
	var got struct{ Error string }
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	if got.Error == "" {
		t.Errorf("the page read a camera: %s", text)
	}
}
