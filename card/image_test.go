package card

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"imageshare/internal/testenv"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

func TestQRVersion(t *testing.T) {
	rng := newRand(1)
	for n := 240; n <= 300; n += 5 {
		uri := testURI(t, rng, n)
		v, err := QRVersion(uri)
		if err != nil {
			t.Fatalf("QRVersion(%d chars): %v", n, err)
		}
		if v > 10 {
			t.Errorf("QRVersion(%d chars) = %d, want ≤ 10", n, v)
		}
		if n == 265 {
			t.Logf("a %d-character URI is QR version %d at level M", n, v)
		}
	}
	// Version 9-M holds 262 alphanumeric characters, version 10-M 311: in
	// byte mode 265 characters would need version 12.
	for n, want := range map[int]int{262: 9, 263: 10, 265: 10, 311: 10, 312: 11} {
		if v, err := QRVersion(testURI(t, rng, n)); err != nil || v != want {
			t.Errorf("QRVersion(%d chars) = %d, %v; want %d", n, v, err, want)
		}
	}
	if v, err := QRVersion(strings.ToLower(testURI(t, rng, 265))); err != nil || v <= 10 {
		t.Errorf("QRVersion(lower case) = %d, %v; want > 10 (byte mode)", v, err)
	}
	if _, err := QRVersion(""); err == nil {
		t.Error("QRVersion(\"\") succeeded, want an error")
	}
}

// TestAlphanumericMode checks in the decoded symbol that the encoder used
// alphanumeric mode (indicator 0010) for the whole URI.
func TestAlphanumericMode(t *testing.T) {
	uri := testURI(t, newRand(2), 265)
	q, err := encodeQR(uri)
	if err != nil {
		t.Fatal(err)
	}
	img := q.Image(-4)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	raw := res.GetRawBytes()
	if got := raw[0] >> 4; got != 0b0010 {
		t.Fatalf("first mode indicator %04b, want 0010 (alphanumeric)", got)
	}
	// Version 10–26 alphanumeric character counts are 11 bits.
	count := int(raw[0]&0x0f)<<7 | int(raw[1]>>1)
	if count != len(uri) {
		t.Errorf("first segment holds %d characters, want all %d", count, len(uri))
	}
}

func TestWritePNGDecodes(t *testing.T) {
	rng := newRand(3)
	for _, tt := range []struct {
		n        int
		passcode bool
		slow     bool // skipped under the race detector
	}{{240, false, true}, {262, true, true}, {265, true, false}, {300, false, true}} {
		uri := testURI(t, rng, tt.n)
		t.Run(fmt.Sprintf("len%d/passcode=%v", tt.n, tt.passcode), func(t *testing.T) {
			if tt.slow && raceEnabled {
				t.Skip("slow under the race detector")
			}
			t.Parallel()
			d := sampleDetails()
			d.Passcode = tt.passcode
			data := cardPNG(t, uri, d)
			cfg, err := png.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != CardWidth || cfg.Height != CardHeight {
				t.Errorf("card is %d×%d, want %d×%d", cfg.Width, cfg.Height, CardWidth, CardHeight)
			}
			got, err := DecodeImage(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("DecodeImage: %v", err)
			}
			if got != uri {
				t.Errorf("DecodeImage = %q, want %q", got, uri)
			}
		})
	}
}

// zbarDecode reads the QR code in the image file at path with zbarimg. It
// skips the test when zbarimg is not installed, unless CI is set.
func zbarDecode(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		testenv.Missing(t, "zbarimg not installed (apt-get install zbar-tools)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--raw", "-q", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v: %s", path, err, stderr.Bytes())
	}
	return strings.TrimSuffix(string(out), "\n")
}

func TestWritePNGZbar(t *testing.T) {
	rng := newRand(4)
	dir := t.TempDir()
	for i, n := range []int{265, 300} {
		uri := testURI(t, rng, n)
		path := filepath.Join(dir, fmt.Sprintf("card%d.png", i))
		if err := os.WriteFile(path, cardPNG(t, uri, sampleDetails()), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := zbarDecode(t, path); got != uri {
			t.Errorf("zbarimg read %q, want %q", got, uri)
		}
	}
}

// extremeDetails are card details that test the layout's limits.
func extremeDetails() map[string]Details {
	long := strings.Repeat("VERY LONG STUDY DESCRIPTION ", 20)
	return map[string]Details{
		"typical": sampleDetails(),
		"empty":   {},
		"long": {
			Site:        strings.Repeat("Royal Infirmary of Somewhere Far Away ", 10),
			PatientName: strings.Repeat("WOLFESCHLEGELSTEINHAUSEN", 6) + "^" + strings.Repeat("HUBERT ", 20),
			StudyDate:   "20210304",
			Description: long,
			Expires:     time.Date(2026, 12, 1, 14, 5, 0, 0, time.FixedZone("CET", 3600)),
			Passcode:    true,
		},
		"unbroken": {
			Site:        strings.Repeat("X", 300),
			PatientName: strings.Repeat("W", 300),
			Description: strings.Repeat("M", 300),
			Expires:     time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC),
			Passcode:    true,
		},
		"odd characters": {
			Site:        "Hôpital\tSaint-Éloi\n\x00",
			PatientName: "Yamada^Tarou=山田^太郎=やまだ^たろう",
			StudyDate:   "2021.03.04",
			Description: "MR 脳 \u200b brain",
			Expires:     time.Date(2026, 12, 1, 14, 5, 0, 0, time.FixedZone("", 5*3600+1800)),
		},
	}
}

// TestLayoutStaysOnCard checks that every line and the QR code lie inside
// the card, within the margins, and that no text overlaps the QR code.
func TestLayoutStaysOnCard(t *testing.T) {
	rng := newRand(5)
	for name, d := range extremeDetails() {
		for _, n := range []int{20, 265, 1000} {
			t.Run(fmt.Sprintf("%s/len%d", name, n), func(t *testing.T) {
				q, err := encodeQR(testURI(t, rng, n))
				if err != nil {
					t.Fatal(err)
				}
				l, err := layoutCard(q.Bitmap(), d)
				if err != nil {
					t.Fatal(err)
				}
				card := image.Rect(0, 0, CardWidth, CardHeight)
				textArea := image.Rect(sideMargin, 0, CardWidth-sideMargin, CardHeight)
				qrSize := l.module * len(l.qr)
				qr := image.Rectangle{Min: l.qrAt, Max: l.qrAt.Add(image.Pt(qrSize, qrSize))}
				if !qr.In(card) {
					t.Errorf("qr %v not inside card %v", qr, card)
				}
				if l.module < minModule {
					t.Errorf("module %d px, want ≥ %d", l.module, minModule)
				}
				for _, ln := range l.lines {
					b := ln.bounds()
					if !b.In(card) || !b.In(textArea) {
						t.Errorf("line %q at %v leaves the text area %v", ln.text, b, textArea)
					}
					if b.Overlaps(qr) {
						t.Errorf("line %q at %v overlaps the qr code %v", ln.text, b, qr)
					}
				}
				for _, bx := range l.boxes {
					if !bx.r.In(card) {
						t.Errorf("box %v not inside card", bx.r)
					}
				}
			})
		}
	}
}

// TestExtremeCardsDecode renders the extreme cards and reads them back.
func TestExtremeCardsDecode(t *testing.T) {
	rng := newRand(6)
	for name, d := range extremeDetails() {
		uri := testURI(t, rng, 265)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := scan(luminance(cardImage(t, uri, d)))
			if err != nil || got != uri {
				t.Errorf("scan = %q, %v; want %q", got, err, uri)
			}
		})
	}
}

// TestCardLooks checks a few pixels: white corners and a black finder
// pattern where the layout put the QR code.
func TestCardLooks(t *testing.T) {
	uri := testURI(t, newRand(7), 265)
	img := cardImage(t, uri, sampleDetails())
	white := color.Gray{0xff}
	for _, p := range []image.Point{{0, 0}, {CardWidth - 1, 0}, {0, CardHeight - 1}, {CardWidth - 1, CardHeight - 1}} {
		if got := color.GrayModel.Convert(img.At(p.X, p.Y)); got != white {
			t.Errorf("pixel %v = %v, want white", p, got)
		}
	}
	q, _ := encodeQR(uri)
	l, err := layoutCard(q.Bitmap(), sampleDetails())
	if err != nil {
		t.Fatal(err)
	}
	if l.module*len(l.qr) < CardWidth*9/10 {
		t.Errorf("qr code %d px wide, want at least 90%% of the card's %d", l.module*len(l.qr), CardWidth)
	}
	// The top-left finder pattern's corner module is dark; the quiet zone
	// (4 modules) in front of it is white.
	quiet := 4 * l.module
	corner := l.qrAt.Add(image.Pt(quiet+l.module/2, quiet+l.module/2))
	if got := color.GrayModel.Convert(img.At(corner.X, corner.Y)); got != (color.Gray{0}) {
		t.Errorf("finder pattern pixel %v = %v, want black", corner, got)
	}
	zone := l.qrAt.Add(image.Pt(quiet/2, quiet/2))
	if got := color.GrayModel.Convert(img.At(zone.X, zone.Y)); got != white {
		t.Errorf("quiet zone pixel %v = %v, want white", zone, got)
	}
}

func TestFormatPatientName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"DOE^JOHN^Q", "DOE, JOHN Q"},
		{"DOE^JOHN", "DOE, JOHN"},
		{"DOE", "DOE"},
		{"DOE^JOHN^Q^DR^JR", "DOE, DR JOHN Q JR"},
		{"DOE^^^^", "DOE"},
		{"^JOHN", "JOHN"},
		{"", "Name not recorded"},
		{"^^^^", "Name not recorded"},
		{"DOE ^JOHN  PAUL ", "DOE, JOHN PAUL"},
		{`DOE^JOHN\ROE^JANE`, "DOE, JOHN"},
		{"Yamada^Tarou=山田^太郎=やまだ^たろう", "Yamada, Tarou"},
	} {
		if got := formatPatientName(tt.in); got != tt.want {
			t.Errorf("formatPatientName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStudyLine(t *testing.T) {
	for _, tt := range []struct{ da, desc, want string }{
		{"20210304", "CT HEAD", "Study: 2021-03-04 — CT HEAD"},
		{"2021.03.04", "", "Study: 2021-03-04"},
		{"", " CT HEAD ", "Study: CT HEAD"},
		{"", "", ""},
		{"20211304", "X", "Study: 20211304 — X"}, // not a date: shown as given
		{"2021", "X", "Study: 2021 — X"},
	} {
		if got := studyLine(tt.da, tt.desc); got != tt.want {
			t.Errorf("studyLine(%q, %q) = %q, want %q", tt.da, tt.desc, got, tt.want)
		}
	}
}

func TestFormatExpires(t *testing.T) {
	at := func(loc *time.Location) time.Time { return time.Date(2026, 12, 1, 14, 5, 0, 0, loc) }
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{at(time.UTC), "2026-12-01 14:05 UTC"},
		{at(time.FixedZone("CET", 3600)), "2026-12-01 14:05 CET (UTC+01:00)"},
		{at(time.FixedZone("", -5*3600)), "2026-12-01 14:05 UTC-05:00"},
		{at(time.FixedZone("+0530", 5*3600+1800)), "2026-12-01 14:05 UTC+05:30"},
	} {
		if got := formatExpires(tt.t); got != tt.want {
			t.Errorf("formatExpires(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	fs, err := newFaces()
	if err != nil {
		t.Fatal(err)
	}
	face := fs.body
	width := font.MeasureString(face, "aaaa bbbb") // exactly two words
	for _, tt := range []struct {
		in       string
		maxLines int
		want     []string // nil: check only widths and the ellipsis
	}{
		{"", 2, []string{}},
		{"aaaa", 1, []string{"aaaa"}},
		{"aaaa bbbb", 1, []string{"aaaa bbbb"}}, // exactly the width
		{"aaaa bbbb cccc", 2, []string{"aaaa bbbb", "cccc"}},
		{"aaaa bbbb cccc dddd", 2, []string{"aaaa bbbb", "cccc dddd"}},
		{"aaaa bbbb cccc dddd eeee", 2, []string{"aaaa bbbb", trimFor(face, width, "cccc dddd")}},
		{"aaaa bbbb cccc", 1, []string{trimFor(face, width, "aaaa bbbb")}},
		{"aaaabbbbccccdddd", 3, nil},             // one word broken over lines
		{strings.Repeat("m", 100), 2, nil},       // and shortened
		{"a " + strings.Repeat("m", 30), 3, nil}, // a long word after a short one
	} {
		got := wrap(face, tt.in, width, tt.maxLines)
		if len(got) > tt.maxLines {
			t.Errorf("wrap(%q, %d) = %q: too many lines", tt.in, tt.maxLines, got)
		}
		for _, line := range got {
			if w := font.MeasureString(face, line); w > width {
				t.Errorf("wrap(%q): line %q is %v wide, more than %v", tt.in, line, w, width)
			}
			if line == "" {
				t.Errorf("wrap(%q) = %q: empty line", tt.in, got)
			}
		}
		if tt.want != nil && strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.in, tt.maxLines, got, tt.want)
		}
		joined := strings.ReplaceAll(strings.Join(got, ""), " ", "")
		if joined != strings.ReplaceAll(tt.in, " ", "") && !strings.HasSuffix(joined, ellipsis) {
			t.Errorf("wrap(%q, %d) = %q lost text without an ellipsis", tt.in, tt.maxLines, got)
		}
	}
}

// trimFor shortens s with an ellipsis until it fits width, as wrap does.
func trimFor(face font.Face, width fixed.Int26_6, s string) string {
	for font.MeasureString(face, s+ellipsis) > width {
		s = strings.TrimRight(s[:len(s)-1], " ")
	}
	return s + ellipsis
}

func TestCleanText(t *testing.T) {
	fs, err := newFaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ in, want string }{
		{"  a \t b\n\nc  ", "a b c"},
		{"a\x00b", "a b"},
		{"MR 脳", "MR ?"},
		{"a\u200bb\u200e", "ab"},
		{"Hôpital", "Hôpital"},
		{"bad\xffutf8", "bad?utf8"},
	} {
		if got := cleanText(fs.body, tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
