package browsertest

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"io"

	"golang.org/x/image/draw"
)

// WriteY4M writes img as a YUV4MPEG2 video of frames identical frames, the
// format Chromium's --use-file-for-fake-video-capture reads: the header
//
//	YUV4MPEG2 W<width> H<height> F10:1 Ip A1:1 C420
//
// then, for each frame, "FRAME\n" and the I420 planes (Y at full size, U and
// V at half size in each direction). The colour space is exactly C420:
// Chromium's reader crashes on C420mpeg2. The conversion is BT.601 with
// the video (studio) range, Y from 16 to 235, which is how Chromium turns
// the frames back into RGB: with the full range, a mid grey 128 reached the
// page as 130 and every colour lost its middle tones. I420 needs an even
// width and height, so an odd image is padded by repeating its last column
// or row. A translucent image is taken as drawn over black.
func WriteY4M(w io.Writer, img image.Image, frames int) error {
	if frames < 1 {
		return fmt.Errorf("writing y4m: %d frames, need at least 1", frames)
	}
	b := img.Bounds()
	if b.Empty() {
		return fmt.Errorf("writing y4m: empty image")
	}
	width, height := b.Dx()+b.Dx()%2, b.Dy()+b.Dy()%2
	// The image in RGBA, padded: draw.Draw has fast paths for the common
	// image types, where At would convert pixel by pixel.
	rgba := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(rgba, b.Sub(b.Min), img, b.Min, draw.Src)
	if width > b.Dx() {
		draw.Draw(rgba, image.Rect(width-1, 0, width, height), rgba, image.Pt(width-2, 0), draw.Src)
	}
	if height > b.Dy() {
		draw.Draw(rgba, image.Rect(0, height-1, width, height), rgba, image.Pt(0, height-2), draw.Src)
	}

	yPlane := make([]byte, width*height)
	uPlane := make([]byte, width*height/4)
	vPlane := make([]byte, width*height/4)
	for y := 0; y < height; y += 2 {
		for x := 0; x < width; x += 2 {
			var sumR, sumG, sumB float64
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				p := rgba.Pix[(y+d[1])*rgba.Stride+(x+d[0])*4:]
				r, g, bl := float64(p[0]), float64(p[1]), float64(p[2])
				yPlane[(y+d[1])*width+x+d[0]] = clampByte(16 + 219.0/255*(0.299*r+0.587*g+0.114*bl))
				sumR, sumG, sumB = sumR+r, sumG+g, sumB+bl
			}
			r, g, bl := sumR/4, sumG/4, sumB/4
			i := (y/2)*(width/2) + x/2
			uPlane[i] = clampByte(128 + 224.0/255*(-0.168736*r-0.331264*g+0.5*bl))
			vPlane[i] = clampByte(128 + 224.0/255*(0.5*r-0.418688*g-0.081312*bl))
		}
	}

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420\n", width, height)
	for range frames {
		bw.WriteString("FRAME\n")
		bw.Write(yPlane)
		bw.Write(uPlane)
		bw.Write(vPlane)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing y4m: %w", err)
	}
	return nil
}

func clampByte(v float64) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}

// CameraScene returns what a camera pointed at a phone showing the card
// would see: a w×h mid-grey frame with card scaled to 80% of its height,
// keeping its proportions (narrower if the frame is too narrow for that),
// in the centre. The card PNG is 1080×1920, so at 1280×720 it is 324×576.
func CameraScene(card image.Image, w, h int) image.Image {
	scene := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(scene, scene.Bounds(), image.NewUniform(color.Gray{Y: 128}), image.Point{}, draw.Src)
	cb := card.Bounds()
	if cb.Empty() {
		return scene
	}
	scale := min(0.8*float64(h)/float64(cb.Dy()), 0.8*float64(w)/float64(cb.Dx()))
	cw, ch := int(float64(cb.Dx())*scale+0.5), int(float64(cb.Dy())*scale+0.5)
	x0, y0 := (w-cw)/2, (h-ch)/2
	draw.CatmullRom.Scale(scene, image.Rect(x0, y0, x0+cw, y0+ch), card, cb, draw.Over, nil)
	return scene
}
