package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A picture in which no card can be read says what to do about it.
func TestNoCardInPictureSaysRetake(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 180, 320))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	pic := filepath.Join(dir, "photo.png")
	f, err := os.Create(pic)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Setenv("XDG_STATE_HOME", dir)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"fetch", "--out", dir, "--qr", pic}, nil, &stdout, &stderr)
	if code != exitBadCard {
		t.Errorf("exit %d, want %d", code, exitBadCard)
	}
	if !strings.Contains(stderr.String(), "no QR code found") || !strings.Contains(stderr.String(), "\nhint: retake the photo closer, flat, filling the frame") {
		t.Errorf("stderr does not say what to do:\n%s", stderr.String())
	}
}
