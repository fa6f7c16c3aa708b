package card

import (
	"image"
	"image/color"
	"regexp"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// sgr matches an ANSI "select graphic rendition" escape sequence.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// parseBlocks turns TerminalQR output (coloured) back into modules, [y][x]
// true for dark, each character giving the module above and the one below;
// or TerminalQRPlain's, whose blocks are the light modules and which has
// no escape at all.
func parseBlocks(t *testing.T, s string, coloured bool) [][]bool {
	t.Helper()
	if !strings.HasSuffix(s, "\n") {
		t.Fatal("output does not end with a newline")
	}
	var modules [][]bool
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		switch {
		case coloured && (!strings.HasPrefix(line, termColours) || !strings.HasSuffix(line, termReset)):
			t.Fatalf("line %d does not set its colours and reset them: %q", i, line)
		case !coloured && strings.ContainsRune(line, '\x1b'):
			t.Fatalf("line %d has an escape sequence: %q", i, line)
		}
		var top, bottom []bool
		for _, r := range sgr.ReplaceAllString(line, "") {
			switch string(r) {
			case halfNone:
				top, bottom = append(top, false), append(bottom, false)
			case halfUpper:
				top, bottom = append(top, true), append(bottom, false)
			case halfLower:
				top, bottom = append(top, false), append(bottom, true)
			case halfBoth:
				top, bottom = append(top, true), append(bottom, true)
			default:
				t.Fatalf("line %d: unexpected character %q", i, r)
			}
		}
		if !coloured {
			for x := range top {
				top[x], bottom[x] = !top[x], !bottom[x]
			}
		}
		if len(modules) > 0 && len(top) != len(modules[0]) {
			t.Fatalf("line %d is %d characters wide, want %d", i, len(top), len(modules[0]))
		}
		modules = append(modules, top, bottom)
	}
	return modules
}

// render draws modules as a greyscale image, scale pixels a module.
func render(modules [][]bool, scale int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, len(modules[0])*scale, len(modules)*scale))
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			v := uint8(0xff)
			if modules[y/scale][x/scale] {
				v = 0
			}
			img.SetGray(x, y, color.Gray{v})
		}
	}
	return img
}

func TestTerminalQR(t *testing.T) {
	t.Run("coloured", func(t *testing.T) { testTerminalQR(t, true) })
	t.Run("plain", func(t *testing.T) { testTerminalQR(t, false) })
}

func testTerminalQR(t *testing.T, vt bool) {
	rng := newRand(20)
	for _, n := range []int{240, 265, 300} {
		uri := testURI(t, rng, n)
		out, err := TerminalQRFor(uri, vt)
		if err != nil {
			t.Fatal(err)
		}
		if vt {
			if same, err := TerminalQR(uri); err != nil || same != out {
				t.Fatalf("TerminalQR differs from TerminalQRFor(uri, true): %v", err)
			}
		} else if same, err := TerminalQRPlain(uri); err != nil || same != out {
			t.Fatalf("TerminalQRPlain differs from TerminalQRFor(uri, false): %v", err)
		}
		modules := parseBlocks(t, out, vt)

		// The grid is the encoder's, quiet zone included; an odd last row
		// is paired with a light one.
		q, err := encodeQR(uri)
		if err != nil {
			t.Fatal(err)
		}
		want := q.Bitmap()
		if len(modules) != len(want)+len(want)%2 {
			t.Fatalf("%d module rows, want %d", len(modules), len(want)+len(want)%2)
		}
		for y := range modules {
			for x := range modules[y] {
				w := y < len(want) && want[y][x]
				if modules[y][x] != w {
					t.Fatalf("module (%d,%d) = %v, want %v", x, y, modules[y][x], w)
				}
			}
		}
		for x := range modules[0] {
			for y := range 4 {
				if modules[y][x] || modules[len(want)-1-y][x] {
					t.Fatalf("quiet zone not light at column %d", x)
				}
			}
		}

		// And a real decoder reads it.
		bmp, err := gozxing.NewBinaryBitmapFromImage(render(modules, 4))
		if err != nil {
			t.Fatal(err)
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		if err != nil {
			t.Fatalf("decoding terminal QR of %d chars: %v", n, err)
		}
		if res.GetText() != uri {
			t.Errorf("decoded %q, want %q", res.GetText(), uri)
		}
		if n == 265 {
			lines := strings.Count(out, "\n")
			width := len(modules[0])
			t.Logf("a %d-character URI is %d columns × %d lines", n, width, lines)
			if width > 80 {
				t.Errorf("%d columns: does not fit an 80-column terminal", width)
			}
		}
	}
}

func TestTerminalQREmpty(t *testing.T) {
	if _, err := TerminalQR(""); err == nil {
		t.Error("TerminalQR(\"\") succeeded, want an error")
	}
}
