package study_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"imageshare/study"
)

func TestReport(t *testing.T) {
	dir := t.TempDir()
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	pdf := append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), 0, 0xff, 0xfe) // PDFs hold binary
	const muller = "Dr Müller: Schädel o.B. – 2 cm ± 1 mm, 37 °C, Œdème, “quoted”, 5 €\r\n"
	cp1252 := []byte("Dr M\xfcller: Sch\xe4del o.B. \x96 2 cm \xb1 1 mm, 37 \xb0C, \x8cd\xe8me, \x93quoted\x94, 5 \x80\r\n")
	tests := []struct {
		name string
		data []byte
		from string // the encoding it is read in, if not UTF-8
		text string // what is sent, if not data
		err  string // the error, after the file's name, if refused
	}{
		{name: "report.pdf", data: pdf},
		{name: "report.txt", data: []byte("CT head: no acute haemorrhage.\nDr Müller, 03:12\n")},
		{name: "bom.txt", data: []byte("\xef\xbb\xbfFindings: none\n")},
		{name: "latin1.txt", data: []byte("Dr M\xfcller"), from: study.EncodingWindows1252, text: "Dr Müller"},
		{name: "cp1252.txt", data: cp1252, from: study.EncodingWindows1252, text: muller},
		// Mostly UTF-8 but one byte: all of it is read as Windows-1252.
		{name: "cut.txt", data: []byte("ends inside \xc3"), from: study.EncodingWindows1252, text: "ends inside Ã"},
		{name: "utf16le.txt", data: utf16Bytes(muller+"頭部CT 😀", false), from: study.EncodingUTF16LE, text: muller + "頭部CT 😀"},
		{name: "utf16be.txt", data: utf16Bytes(muller, true), from: study.EncodingUTF16BE, text: muller},
		{name: "tab-ff.txt", data: []byte("a\tb\fc\xe4"), from: study.EncodingWindows1252, text: "a\tb\fcä"},
		{name: "scout.png", data: pngBytes.Bytes(), err: "neither a PDF nor text: control character U+001A at byte 6"},
		{name: "binary.txt", data: []byte("text\x00more"), err: "neither a PDF nor UTF-8 text: NUL at byte 4"},
		{name: "late-nul.txt", data: []byte("Sch\xe4del\x00"), err: "neither a PDF nor text: control character U+0000 at byte 7"},
		{name: "escape.txt", data: []byte("Sch\xe4del\x1b[0m"), err: "neither a PDF nor text: control character U+001B at byte 7"},
		{name: "nul.txt", data: []byte("text"), err: `name "nul.txt" names a Windows device`},
		{name: "empty.txt", data: nil, err: "empty file"},
		{name: "bom-only.txt", data: []byte{0xFF, 0xFE}, err: "no text after the byte order mark"},
		{name: "utf16-odd.txt", data: []byte{0xFF, 0xFE, 'a', 0, 'b'}, err: "UTF-16 text of an odd length: a byte is left over at byte 4"},
		{name: "utf16-surrogate.txt", data: []byte{0xFF, 0xFE, 'a', 0, 0x3D, 0xD8, 'b', 0}, err: "not UTF-16 text: the surrogate at byte 4 is not one of a pair"},
		{name: "utf16-nul.txt", data: []byte{0xFE, 0xFF, 0, 'a', 0, 0}, err: "neither a PDF nor text: control character U+0000 at byte 4"},
	}
	// The five bytes that Windows-1252 leaves undefined, at the boundaries
	// of the text.
	for _, c := range []byte{0x81, 0x8D, 0x8F, 0x90, 0x9D} {
		for _, at := range []int{0, 5, 11} {
			data := []byte("Sch\xe4del o.B.")
			data = append(data[:at:at], append([]byte{c}, data[at:]...)...)
			tests = append(tests, struct {
				name string
				data []byte
				from string
				text string
				err  string
			}{name: "undefined.txt", data: data,
				err: fmt.Sprintf("neither a PDF nor text in UTF-8 or Windows-1252: byte %d (0x%02X) is not UTF-8 and is undefined in Windows-1252", at, c)})
		}
	}
	for i, tt := range tests {
		src := filepath.Join(dir, "in", strconv.Itoa(i), tt.name)
		if err := os.MkdirAll(filepath.Dir(src), 0o700); err != nil {
			t.Fatal(err)
		}
		path := writeFile(t, src, tt.data)
		copyDir := filepath.Join(dir, "copies", strconv.Itoa(i))
		f, from, err := study.Report(path, copyDir)
		if tt.err != "" {
			if want := "report " + path + ": " + tt.err; err == nil || err.Error() != want {
				t.Errorf("%s: error %v, want %q", tt.name, err, want)
			}
			if entries, _ := os.ReadDir(copyDir); len(entries) > 0 {
				t.Errorf("%s: refused, and %s is left in the folder for copies", tt.name, entries[0].Name())
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if from != tt.from || f.Kind != study.KindReport || f.Rel != tt.name {
			t.Errorf("%s: %+v from %q, want from %q", tt.name, f, from, tt.from)
		}
		if tt.from == "" {
			if f.Path != path || f.Size != int64(len(tt.data)) {
				t.Errorf("%s: %+v, want the file as it is", tt.name, f)
			}
			continue
		}
		if f.Path != filepath.Join(copyDir, tt.name) {
			t.Errorf("%s: the copy is %s, want %s", tt.name, f.Path, filepath.Join(copyDir, tt.name))
		}
		got, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.text || !utf8.Valid(got) || f.Size != int64(len(got)) {
			t.Errorf("%s: sent %q (%d bytes, File says %d), want %q", tt.name, got, len(got), f.Size, tt.text)
		}
		if fi, err := os.Stat(f.Path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: the copy's mode: %v %v", tt.name, fi.Mode(), err)
		}
		if original, _ := os.ReadFile(path); !bytes.Equal(original, tt.data) {
			t.Errorf("%s: the report named was changed", tt.name)
		}
	}
	// Without a folder for copies, text that is not UTF-8 is refused.
	latin1 := writeFile(t, filepath.Join(dir, "no-copy.txt"), []byte("Dr M\xfcller"))
	if _, _, err := study.Report(latin1, ""); err == nil || err.Error() != "report "+latin1+": neither a PDF nor UTF-8 text: byte 4 is not UTF-8" {
		t.Errorf("Windows-1252 without a folder for copies: %v", err)
	}
	utf16 := writeFile(t, filepath.Join(dir, "no-copy16.txt"), utf16Bytes("text", false))
	if _, _, err := study.Report(utf16, ""); err == nil || err.Error() != "report "+utf16+": UTF-16LE text, not UTF-8" {
		t.Errorf("UTF-16 without a folder for copies: %v", err)
	}
	// A copy already there is not overwritten.
	taken := filepath.Join(dir, "taken")
	writeFile(t, filepath.Join(taken, "no-copy.txt"), []byte("another report"))
	if _, _, err := study.Report(latin1, taken); err == nil || !strings.Contains(err.Error(), latin1) {
		t.Errorf("a copy already there: %v, want an error naming the report", err)
	}
	if _, _, err := study.Report(filepath.Join(dir, "missing.pdf"), dir); err == nil {
		t.Error("missing file: no error")
	}
}

// utf16Bytes is s in UTF-16 after a byte order mark.
func utf16Bytes(s string, bigEndian bool) []byte {
	b := []byte{0xFF, 0xFE}
	if bigEndian {
		b = []byte{0xFE, 0xFF}
	}
	for _, c := range s {
		var units []rune
		if c >= 0x10000 {
			c -= 0x10000
			units = []rune{0xD800 + c>>10, 0xDC00 + c&0x3FF}
		} else {
			units = []rune{c}
		}
		for _, u := range units {
			if bigEndian {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
	}
	return b
}

// FuzzReport feeds Report any bytes as a report. It must never panic; what
// it accepts as it is must be a PDF or UTF-8 text, and what it converts
// must arrive as UTF-8 text with no control character but tab, LF, FF, CR.
func FuzzReport(f *testing.F) {
	for _, seed := range [][]byte{
		[]byte("%PDF-1.4\n%%EOF\n"), []byte("Dr Müller\r\n"), []byte("Dr M\xfcller\r\n"), []byte("\x81"),
		utf16Bytes("Dr Müller 😀", false), utf16Bytes("x", true), {0xFF, 0xFE, 0x3D, 0xD8}, {0xFE, 0xFF, 0},
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		path := filepath.Join(dir, "in", strconv.Itoa(n), "report.txt")
		writeFile(t, path, data)
		copyDir := filepath.Join(dir, "copies", strconv.Itoa(n))
		file, from, err := study.Report(path, copyDir)
		if err != nil {
			if entries, _ := os.ReadDir(copyDir); len(entries) > 0 {
				t.Fatalf("refused (%v), and a copy is left behind", err)
			}
			return
		}
		if from == "" {
			if file.Path != path || !bytes.HasPrefix(data, []byte("%PDF-")) && (!utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0) {
				t.Fatalf("%q accepted as it is: %+v", data, file)
			}
			return
		}
		got, err := os.ReadFile(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(got) || len(got) == 0 || int64(len(got)) != file.Size {
			t.Fatalf("%q read as %s gives %q (File says %d bytes)", data, from, got, file.Size)
		}
		for _, c := range string(got) {
			if c < 0x20 && !strings.ContainsRune("\t\n\f\r", c) || c == 0x7F {
				t.Fatalf("%q read as %s gives control character %U", data, from, c)
			}
		}
	})
}
