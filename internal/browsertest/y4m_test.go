package browsertest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestWriteY4M(t *testing.T) {
	for _, tc := range []struct {
		w, h, frames int
		wantW, wantH int
	}{
		{2, 2, 1, 2, 2},
		{3, 3, 1, 4, 4}, // odd: padded
		{1280, 720, 3, 1280, 720},
		{1, 1, 2, 2, 2},
		{5, 2, 1, 6, 2},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.w, tc.h, tc.frames), func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, tc.w, tc.h))
			var buf bytes.Buffer
			if err := WriteY4M(&buf, img, tc.frames); err != nil {
				t.Fatal(err)
			}
			header := fmt.Sprintf("YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420\n", tc.wantW, tc.wantH)
			if got, _, _ := strings.Cut(buf.String(), "\n"); got+"\n" != header {
				t.Fatalf("header %q, want %q", got, header)
			}
			frame := len("FRAME\n") + tc.wantW*tc.wantH*3/2
			if want := len(header) + tc.frames*frame; buf.Len() != want {
				t.Fatalf("%d bytes, want %d", buf.Len(), want)
			}
			for i := range tc.frames {
				at := len(header) + i*frame
				if got := buf.String()[at : at+6]; got != "FRAME\n" {
					t.Fatalf("frame %d starts with %q", i, got)
				}
			}
		})
	}
}

func TestWriteY4MColours(t *testing.T) {
	// A 3×2 image, so that the third column is padded with the second's
	// colours: white, black and red columns.
	img := image.NewRGBA(image.Rect(10, 20, 13, 22)) // bounds not at 0,0
	for y := 20; y < 22; y++ {
		img.Set(10, y, color.White)
		img.Set(11, y, color.White)
		img.Set(12, y, color.RGBA{R: 255, A: 255})
	}
	var buf bytes.Buffer
	if err := WriteY4M(&buf, img, 1); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	_, frame, _ := bytes.Cut(data, []byte("FRAME\n"))
	const w, h = 4, 2
	yPlane, u, v := frame[:w*h], frame[w*h:w*h+w*h/4], frame[w*h+w*h/4:]
	wantY := []byte{235, 235, 81, 81, 235, 235, 81, 81} // red: 16 + 0.299×219
	if !bytes.Equal(yPlane, wantY) {
		t.Errorf("Y plane %v, want %v", yPlane, wantY)
	}
	// White: no colour. Red: U below the middle, V at the top of the
	// video range (16 to 240).
	if u[0] != 128 || v[0] != 128 {
		t.Errorf("white's U, V = %d, %d, want 128, 128", u[0], v[0])
	}
	if u[1] != 90 || v[1] != 240 {
		t.Errorf("red's U, V = %d, %d, want 90, 240", u[1], v[1])
	}
}

func TestWriteY4MRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteY4M(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2)), 0); err == nil {
		t.Error("0 frames: no error")
	}
	if err := WriteY4M(&buf, image.NewRGBA(image.Rectangle{}), 1); err == nil {
		t.Error("empty image: no error")
	}
}

func TestCameraScene(t *testing.T) {
	card := image.NewRGBA(image.Rect(0, 0, 1080, 1920))
	for i := range card.Pix {
		card.Pix[i] = 255 // white, opaque
	}
	scene := CameraScene(card, 1280, 720)
	if b := scene.Bounds(); b != image.Rect(0, 0, 1280, 720) {
		t.Fatalf("bounds %v", b)
	}
	grey := color.RGBAModel.Convert(color.Gray{Y: 128})
	white := color.RGBAModel.Convert(color.White)
	// The card is 324×576 (80% of 720 high), from (478, 72) to (802, 648).
	for _, tc := range []struct {
		x, y int
		want color.Color
	}{
		{0, 0, grey},
		{1279, 719, grey},
		{640, 360, white},
		{477, 360, grey},
		{479, 360, white},
		{801, 360, white},
		{803, 360, grey},
		{640, 71, grey},
		{640, 73, white},
		{640, 647, white},
		{640, 649, grey},
	} {
		if got := color.RGBAModel.Convert(scene.At(tc.x, tc.y)); got != tc.want {
			t.Errorf("at (%d, %d): %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}
