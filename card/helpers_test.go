package card

import (
	"bytes"
	"encoding/base32"
	"image"
	"math/rand/v2"
	"testing"
	"time"
)

// testPrefix is the URI prefix the tests use; the real format lives in uri.go.
const testPrefix = "IMAGESHARE:V1:"

// testURI makes a URI-like string of exactly n characters: the prefix and
// random unpadded RFC 4648 base32, as the sender's URIs are.
func testURI(t testing.TB, rng *rand.Rand, n int) string {
	t.Helper()
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	body := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	return testPrefix + body[:n-len(testPrefix)]
}

// newRand returns a deterministic generator for one test.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// sampleDetails are typical card details.
func sampleDetails() Details {
	return Details{
		Site:        "St Elsewhere General Hospital",
		PatientName: "DOE^JOHN^Q",
		StudyDate:   "20210304",
		Description: "CT HEAD W/O CONTRAST",
		Expires:     time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC),
		Passcode:    true,
	}
}

// cardPNG renders a card and fails the test on error.
func cardPNG(t testing.TB, uri string, d Details) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePNG(&buf, uri, d); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	return buf.Bytes()
}

// cardImage draws a card without encoding it as PNG, for tests that only
// need its pixels (PNG encoding is slow under the race detector).
func cardImage(t testing.TB, uri string, d Details) *image.RGBA {
	t.Helper()
	img, err := drawCard(uri, d)
	if err != nil {
		t.Fatalf("drawCard: %v", err)
	}
	return img
}
