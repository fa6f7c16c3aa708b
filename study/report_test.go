package study_test

import (
	"bytes"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/study"
)

func TestReport(t *testing.T) {
	dir := t.TempDir()
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	pdf := append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), 0, 0xff, 0xfe) // PDFs hold binary
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"report.pdf", pdf, true},
		{"report.txt", []byte("CT head: no acute haemorrhage.\nDr Müller, 03:12\n"), true},
		{"bom.txt", []byte("\xef\xbb\xbfFindings: none\n"), true},
		{"scout.png", pngBytes.Bytes(), false},
		{"nul.txt", []byte("text\x00more"), false},
		{"latin1.txt", []byte("Dr M\xfcller"), false},
		{"cut.txt", []byte("ends inside \xc3"), false},
		{"empty.txt", nil, false},
	}
	for _, tt := range tests {
		path := writeFile(t, filepath.Join(dir, tt.name), tt.data)
		f, err := study.Report(path)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.ok && (f.Kind != study.KindReport || f.Rel != tt.name || f.Path != path || f.Size != int64(len(tt.data))):
			t.Errorf("%s: %+v", tt.name, f)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), path)):
			t.Errorf("%s: %v, want an error naming the file", tt.name, err)
		}
	}
	if _, err := study.Report(filepath.Join(dir, "missing.pdf")); err == nil {
		t.Error("missing file: no error")
	}
}
