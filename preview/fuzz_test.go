package preview

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"strings"
	"testing"
)

// FuzzImage: whatever a file holds, Image returns a thumbnail of at most
// MaxSide pixels a side or an error naming the file, and never panics.
func FuzzImage(f *testing.F) {
	g := image.NewGray(image.Rect(0, 0, 8, 6))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 5)
	}
	var j bytes.Buffer
	if err := jpeg.Encode(&j, g, nil); err != nil {
		f.Fatal(err)
	}
	for _, in := range []instance{
		{Rows: 6, Cols: 8, Stored: 12, Pixels: words(ramp(6, 8, 0, 40)), Window: "100\\200", Rescale: [2]string{"1", "-1024"}},
		{Rows: 6, Cols: 8, Stored: 12, Signed: true, Photometric: "MONOCHROME1", Pixels: words(ramp(6, 8, 0, 40)), Instance: "3", Position: "0\\0\\1"},
		{Rows: 2, Cols: 4, Samples: 3, Bits: 8, Photometric: "RGB", Planar: 1, Pixels: bytes.Repeat([]byte{10, 200, 30}, 8)},
		{Rows: 2, Cols: 4, Samples: 3, Bits: 8, Photometric: "YBR_FULL_422", Pixels: bytes.Repeat([]byte{10, 200, 30, 40}, 4)},
		{Rows: 6, Cols: 8, Frames: 2, Pixels: words(ramp(12, 8, 0, 1))},
		{TS: tsExplicitBE, Rows: 6, Cols: 8, Pixels: words(ramp(6, 8, 0, 40))},
		{TS: tsDeflated, Rows: 6, Cols: 8, Pixels: words(ramp(6, 8, 0, 40))},
		{TS: tsJPEGBase, Rows: 6, Cols: 8, Bits: 8, JPEG: [][]byte{j.Bytes()}},
	} {
		f.Add(in.bytes())
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		// A file of its own: the fuzzer's workers run side by side.
		tmp, err := os.CreateTemp(dir, "*.dcm")
		if err != nil {
			t.Fatal(err)
		}
		p := tmp.Name()
		defer os.Remove(p)
		_, err = tmp.Write(data)
		if err := errors.Join(err, tmp.Close()); err != nil {
			t.Fatal(err)
		}
		img, err := Image(p)
		if err != nil {
			if !errors.Is(err, ErrNoPreview) && !strings.Contains(err.Error(), p) {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		if b := img.Bounds(); b.Dx() > MaxSide || b.Dy() > MaxSide || b.Empty() {
			t.Fatalf("a thumbnail of %v", b)
		}
	})
}
