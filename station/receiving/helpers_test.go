package receiving

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/station"
	"imageshare/study"
	"imageshare/synthetic"
)

// sender is a sending hospital in this process: a small synthetic study
// (2 series, with a text report) packed into a spool and served over
// loopback libp2p until its receipt.
type sender struct {
	uri     string
	files   []study.File // to compare with what arrived
	summary study.Summary
	done    chan struct{} // closed when Deliver returned, with err
	err     error
}

const patientName = "DOE^JANE"

// startSender starts a sender of the study; with passcode, its card needs
// one. It stops with ctx, and the test waits for it.
func startSender(t testing.TB, ctx context.Context, passcode string) *sender {
	t.Helper()
	src := t.TempDir()
	if _, err := synthetic.Write(synthetic.Options{Dir: src, PatientName: patientName, PatientID: "STE-4471",
		BirthDate: "19800214", Sex: "F", StudyDescription: "CT HEAD W/O CONTRAST",
		Series: 2, Images: 4, Rows: 128, Columns: 128, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	scan, err := study.ScanPaths(ctx, []string{src}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	studies, err := study.Select(scan, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(reportPath, []byte("CT HEAD: no acute intracranial haemorrhage.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	report, _, err := study.Report(reportPath, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &sender{files: append(studies[0].Files, report), summary: studies[0].Summary, done: make(chan struct{})}
	cards := make(chan string, 1)
	sess, err := send.Pack(ctx, send.Options{Spool: sp, Files: s.files, Studies: []study.Summary{s.summary},
		Site: "St Elsewhere General Hospital", Expires: time.Hour, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Passcode: passcode,
		Issue: func(c send.Card) error {
			uri, err := c.Offer.URI()
			cards <- uri
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		s.err = sess.Deliver(ctx)
	}()
	t.Cleanup(func() { <-s.done })
	select {
	case s.uri = <-cards:
	case <-s.done:
		t.Fatalf("the sender stopped before giving out its card: %v", s.err)
	}
	return s
}

// cardPNG is the card as the sending station prints it.
func (s *sender) cardPNG(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := card.WritePNG(&buf, s.uri, card.Details{Site: "St Elsewhere General Hospital", PatientName: patientName,
		StudyDate: s.summary.StudyDate, Description: s.summary.Description, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cardImage is the card as a camera would see it.
func (s *sender) cardImage(t testing.TB) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(s.cardPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// checkArrived compares every file the sender sent with the one in dir.
func (s *sender) checkArrived(t *testing.T, dir string) {
	t.Helper()
	for _, f := range s.files {
		want, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Rel)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s did not arrive intact in %s (%v)", f.Rel, dir, err)
		}
	}
}

// serve serves the page with cfg on a loopback station, as receiver
// station does, until the test ends; it returns the station's URL.
func serve(t testing.TB, cfg Config) string {
	t.Helper()
	if cfg.Out == "" {
		cfg.Out = t.TempDir()
	}
	if cfg.AuditFile == "" {
		cfg.AuditFile = filepath.Join(t.TempDir(), "audit-receiver.jsonl")
	}
	if cfg.Trail == nil {
		trail, err := audit.OpenTrail("receiver", cfg.AuditFile, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(trail.Close)
		cfg.Trail = trail
	}
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.Context == nil {
		cfg.Context = ctx
	}
	page, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := station.New(station.Config{Name: "receiver station", Listen: "127.0.0.1:0"}, page)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv.URL()
}
