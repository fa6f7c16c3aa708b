package browsertest

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/station"
	"imageshare/transfer"
)

// cardURI makes a real card URI, as a sender with four addresses makes it.
func cardURI(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := icrypto.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	o := &card.Offer{
		Peer:     id,
		Secret:   secret,
		ID:       transfer.OfferID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4},
		Expires:  time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC),
		Passcode: true,
	}
	for _, s := range []string{
		"/ip4/192.168.10.20/tcp/7471",
		"/ip4/192.168.10.20/udp/7471/quic-v1",
		"/ip6/fd00::1234/tcp/7471",
		"/ip4/127.0.0.1/tcp/7471",
	} {
		o.Addrs = append(o.Addrs, ma.StringCast(s))
	}
	uri, err := o.URI()
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

// TestCameraReadsCard shows the card, as CameraScene places it in a
// 1280×720 frame, to the fake camera, and has a page served by a real
// station read it with the station's jsQR, as the receiving station will.
func TestCameraReadsCard(t *testing.T) {
	srv, err := station.New(station.Config{Name: "browsertest station", Listen: "127.0.0.1:0"},
		http.FileServer(http.Dir("testdata")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	uri := cardURI(t)
	qr, err := card.QRVersion(uri)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := card.WritePNG(&buf, uri, card.Details{
		Site:        "St Elsewhere General Hospital",
		PatientName: "DOE^JOHN^Q",
		StudyDate:   "20210304",
		Description: "CT HEAD W/O CONTRAST",
		Expires:     time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC),
		Passcode:    true,
	}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a %d-character URI, QR version %d, card %v", len(uri), qr, img.Bounds().Size())

	b := New(t, Options{Camera: CameraScene(img, 1280, 720)})
	if err := chromedp.Do(b.Ctx(),
		chromedp.Navigate(srv.URL()+"/qr/"),
		chromedp.WaitVisible(chromedp.CSS("#video")),
	); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "scanning")
	if err := chromedp.Do(b.Ctx(), chromedp.WaitVisible(chromedp.CSS("#decoded, #error"))); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, "decoded")
	if msg, err := chromedp.Run(b.Ctx(), chromedp.TextContent(chromedp.CSS("#error"))); err != nil {
		t.Fatal(err)
	} else if msg != "" {
		t.Fatalf("the page could not scan: %s", msg)
	}
	got, err := chromedp.Run(b.Ctx(), chromedp.Text(chromedp.CSS("#decoded")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != uri {
		t.Errorf("jsQR read %q, want %q", got, uri)
	}
	a, err := chromedp.Run(b.Ctx(), chromedp.Attributes(chromedp.CSS("#decoded")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("frame %s: decoded %s ms after the first frame, at frame %s; jsQR itself took %s ms",
		a["data-size"], a["data-ms"], a["data-frames"], a["data-jsqr-ms"])
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}
