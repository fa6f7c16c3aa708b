// Package browsertest runs the web stations' pages in a real browser from
// go test: the Debian chromium, headless, driven over the DevTools protocol
// with github.com/chromedp/chromedp. A test meets a page the way its user
// does: it waits for what appears, clicks, types, and takes a screenshot at
// each step into ArtifactsDir, which CI keeps.
//
// A Browser can have a fake camera that shows a still image (Options.Camera;
// CameraScene puts a card in front of it), so that a page that scans a card
// with getUserMedia and jsQR reads a real QR code. The page's console errors,
// uncaught exceptions and Content-Security-Policy violations are logged with
// t.Log and kept for ConsoleErrors.
//
// chromedp v0.23 has a generic API: Do runs steps, Run returns a value.
//
//	b := browsertest.New(t, browsertest.Options{})
//	err := chromedp.Do(b.Ctx(),
//		chromedp.Navigate(url),
//		chromedp.WaitVisible(chromedp.CSS("#status")),
//	)
//	b.Screenshot(t, "loaded")
//	status, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#status")))
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"imageshare/internal/testenv"
)

// DefaultTimeout bounds a Browser's whole life when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// Options configure New.
type Options struct {
	// Camera is what the fake camera shows, as a still video; nil: the
	// browser has no camera. CameraScene makes one from a card.
	Camera image.Image
	// IgnoreCertErrors lets the browser open a station's self-signed TLS
	// certificate.
	IgnoreCertErrors bool
	// Width and Height are the window's size; 1280×900 when zero.
	Width, Height int
	// Timeout bounds the browser's life, from New: every action on Ctx fails
	// after it. DefaultTimeout when zero; never past the test's deadline.
	Timeout time.Duration
}

// Browser is a headless chromium with one tab, closed when the test ends.
type Browser struct {
	ctx context.Context

	mu     sync.Mutex
	errors []string
	added  chan struct{} // closed and replaced when an error is added
}

// New starts a headless chromium (/usr/bin/chromium, or $CHROMIUM) for t
// and closes it when t ends. It skips t when there is no chromium, or fails
// it under CI.
func New(t testing.TB, o Options) *Browser {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		testenv.Missing(t, "no chromium for the browser tests (install Debian's chromium, or set $CHROMIUM): %v", err)
	}
	if o.Width == 0 {
		o.Width = 1280
	}
	if o.Height == 0 {
		o.Height = 900
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}

	output := new(syncBuffer)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// The headless mode that is the whole browser, as a user has it.
		chromedp.Flag("headless", "new"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// The tests run as root, where chromium refuses to start with its
		// sandbox.
		chromedp.NoSandbox,
		// No GPU in CI: draw in software (chromedp adds
		// enable-unsafe-swiftshader, without which chromium 139 and later
		// have no WebGL fallback).
		chromedp.DisableGPU,
		// /dev/shm is small in containers; chromium crashes when it fills.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		// Grant the camera without the permission prompt.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.CombinedOutput(output),
	}
	if o.IgnoreCertErrors {
		opts = append(opts, chromedp.IgnoreCertErrors)
	}
	if o.Camera != nil {
		video := filepath.Join(t.TempDir(), "camera.y4m")
		f, err := os.Create(video)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteY4M(f, o.Camera, 1); err != nil {
			f.Close()
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		opts = append(opts,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", video),
		)
	}

	deadline := time.Now().Add(o.Timeout)
	if td, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := td.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
	}
	// The browser process lives as long as this context: chromedp ties it
	// to the context of the first Run.
	base, cancelBase := context.WithDeadline(context.Background(), deadline)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	b := &Browser{ctx: ctx, added: make(chan struct{})}

	stop := func() {
		cancelCtx()
		cancelAlloc()
		cancelBase()
	}
	// Start the browser and its tab, so that Console sees the first page's
	// messages.
	if err := chromedp.Do(ctx); err != nil {
		stop()
		t.Fatalf("starting chromium %s: %v\n%s", path, err, output.tail(4096))
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.record(t, m)
		}
	}()
	t.Cleanup(func() {
		stop()
		<-done
		if t.Failed() {
			t.Logf("chromium's output (last 4 KiB):\n%s", output.tail(4096))
		}
	})
	return b
}

// record logs a console message and keeps the errors.
func (b *Browser) record(t testing.TB, m chromedp.ConsoleMessage) {
	where := ""
	if m.URL != "" {
		where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
	}
	switch {
	case m.Type == chromedp.ConsoleError && m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico"):
		// The browser asks for /favicon.ico by itself; a page that has none
		// is not in error.
	case m.Type == chromedp.ConsoleError, m.Type == chromedp.ConsoleException:
		line := fmt.Sprintf("%s%s", m, where)
		t.Logf("browser console: %s", line)
		b.mu.Lock()
		b.errors = append(b.errors, line)
		close(b.added)
		b.added = make(chan struct{})
		b.mu.Unlock()
	case m.Type == chromedp.ConsoleWarning:
		t.Logf("browser console: %s%s", m, where)
	}
}

// Ctx returns the chromedp context of the browser's tab, for chromedp.Do
// and chromedp.Run. It ends at Options.Timeout and when the test ends.
func (b *Browser) Ctx() context.Context { return b.ctx }

// ConsoleErrors returns what the pages wrote to the console as errors so
// far: console.error calls, uncaught exceptions and unhandled rejections,
// and the browser's own errors such as Content-Security-Policy violations
// and failed loads. Each is "type: text (url:line)".
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// WaitConsoleError waits until a console error containing substr has come,
// and returns it. The browser's messages come asynchronously, so a test
// that expects an error waits for it with this rather than looking at
// ConsoleErrors at once. It fails t when Ctx ends first.
func (b *Browser) WaitConsoleError(t testing.TB, substr string) string {
	t.Helper()
	for {
		b.mu.Lock()
		for _, e := range b.errors {
			if strings.Contains(e, substr) {
				b.mu.Unlock()
				return e
			}
		}
		added := b.added
		b.mu.Unlock()
		select {
		case <-added:
		case <-b.ctx.Done():
			t.Fatalf("no console error containing %q came before the browser's context ended (%v); the errors: %q", substr, b.ctx.Err(), b.ConsoleErrors())
		}
	}
}

// Screenshot saves a PNG of the whole page, beyond the window if it is
// longer, as ArtifactsDir(t)/NN-name.png, NN counting t's screenshots so
// that the files sort in the order of the test's steps, and returns its
// path.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %q: %v", name, err)
	}
	a := artifactsFor(t)
	path := filepath.Join(a.dir, fmt.Sprintf("%02d-%s.png", a.next(), sanitise(name)))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// syncBuffer keeps chromium's output for a failing test's log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		// Keep the end, which tail shows.
		b.buf.Next(b.buf.Len() - 64<<10)
	}
	return b.buf.Write(p)
}

// tail returns the last n bytes of the output, without the lines about
// D-Bus, which is absent in a container and which chromium complains about
// at length.
func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var kept []string
	for line := range strings.Lines(b.buf.String()) {
		if !strings.Contains(line, "dbus/") {
			kept = append(kept, line)
		}
	}
	s := strings.Join(kept, "")
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
