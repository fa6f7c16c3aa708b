package study

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encodings other than UTF-8 that Report reads text in, as it names them.
const (
	EncodingWindows1252 = "Windows-1252 (Latin-1)"
	EncodingUTF16LE     = "UTF-16LE"
	EncodingUTF16BE     = "UTF-16BE"
)

// Report makes a File of Kind report from a radiology report: a PDF (it
// starts with "%PDF-") or plain text with no NUL, which travels in UTF-8.
// Text that is not UTF-8 is read as UTF-16 after a byte order mark, and
// otherwise as Windows-1252 (what Windows editors save; a superset of
// Latin-1's printable characters). Such text must hold no control character
// but tab, line feed, form feed and carriage return, which tells it from a
// binary file, and Report writes a UTF-8 copy of it into the folder
// copyDir, made if need be: the File is then the copy's, under the report's
// own name, and from names the encoding it was read in (one of the
// Encoding constants). from is "" for a PDF or UTF-8 text, which go as
// they are; with copyDir "", text that is not UTF-8 is refused. Errors
// name the file.
func Report(path, copyDir string) (f File, from string, err error) {
	in, err := os.Open(path)
	if err != nil {
		return File{}, "", err // the error names path
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return File{}, "", err
	}
	if !fi.Mode().IsRegular() {
		return File{}, "", fmt.Errorf("report %s: not a regular file", path)
	}
	if fi.Size() == 0 {
		return File{}, "", fmt.Errorf("report %s: empty file", path)
	}
	f = File{Path: path, Rel: filepath.Base(path), Size: fi.Size(), Kind: KindReport}
	if err := CheckName(f.Rel); err != nil {
		return File{}, "", fmt.Errorf("report %s: %w", path, err)
	}
	br := bufio.NewReader(in)
	head, _ := br.Peek(5)
	var convert func(*bufio.Reader, *bufio.Writer) error
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return f, "", nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		from, convert = EncodingUTF16LE, func(r *bufio.Reader, w *bufio.Writer) error { return fromUTF16(r, w, false) }
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		from, convert = EncodingUTF16BE, func(r *bufio.Reader, w *bufio.Writer) error { return fromUTF16(r, w, true) }
	default:
		err := checkText(br)
		if err == nil {
			return f, "", nil
		}
		if !errors.Is(err, errNotUTF8) || copyDir == "" {
			return File{}, "", fmt.Errorf("report %s: %w", path, err)
		}
		from, convert = EncodingWindows1252, fromWindows1252
	}
	if copyDir == "" {
		return File{}, "", fmt.Errorf("report %s: %s text, not UTF-8", path, from)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return File{}, "", err
	}
	br.Reset(in)
	f.Path = filepath.Join(copyDir, f.Rel)
	if f.Size, err = writeUTF8(f.Path, br, convert); err != nil {
		return File{}, "", fmt.Errorf("report %s: %w", path, err)
	}
	if f.Size == 0 {
		os.Remove(f.Path)
		return File{}, "", fmt.Errorf("report %s: no text after the byte order mark", path)
	}
	return f, from, nil
}

// errNotUTF8 is checkText's error for a byte that is not UTF-8.
var errNotUTF8 = errors.New("neither a PDF nor UTF-8 text")

// checkText checks that r is UTF-8 text with no NUL.
func checkText(r *bufio.Reader) error {
	for off := 0; ; {
		c, size, err := r.ReadRune()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case c == utf8.RuneError && size == 1:
			return fmt.Errorf("%w: byte %d is not UTF-8", errNotUTF8, off)
		case c == 0:
			return fmt.Errorf("neither a PDF nor UTF-8 text: NUL at byte %d", off)
		}
		off += size
	}
}

// writeUTF8 writes what convert makes of r into a new file at path,
// readable by its owner only, and returns its size. It leaves no file
// behind if it fails.
func writeUTF8(path string, r *bufio.Reader, convert func(*bufio.Reader, *bufio.Writer) error) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(out)
	err = convert(r, w)
	if err == nil {
		err = w.Flush()
	}
	var size int64
	if err == nil {
		size, err = out.Seek(0, io.SeekCurrent)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return size, nil
}

// isControl reports whether c is a control character that text converted
// to UTF-8 must not hold: all but tab, line feed, form feed and carriage
// return, which a report's text may hold, as DICOM's text VRs do. This
// tells a binary file from text, and the receiver would refuse them.
func isControl(c rune) bool {
	return c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r' || c == 0x7F
}

// fromWindows1252 converts Windows-1252 text to UTF-8. The five bytes that
// Windows-1252 leaves undefined, and control characters, are errors naming
// their offset.
func fromWindows1252(r *bufio.Reader, w *bufio.Writer) error {
	for off := 0; ; off++ {
		c, err := r.ReadByte()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case isControl(rune(c)):
			return fmt.Errorf("neither a PDF nor text: control character %U at byte %d", c, off)
		case c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D:
			return fmt.Errorf("neither a PDF nor text in UTF-8 or Windows-1252: byte %d (0x%02X) is not UTF-8 and is undefined in Windows-1252", off, c)
		}
		w.WriteRune(charmap.Windows1252.DecodeByte(c))
	}
}

// fromUTF16 converts UTF-16 text after its byte order mark to UTF-8. An odd
// byte at the end, a surrogate out of its pair, and control characters are
// errors naming their offset.
func fromUTF16(r *bufio.Reader, w *bufio.Writer, bigEndian bool) error {
	if _, err := r.Discard(2); err != nil {
		return err
	}
	var pair [2]byte
	unit := func() (uint16, error) {
		if _, err := io.ReadFull(r, pair[:]); err != nil {
			return 0, err
		}
		if bigEndian {
			return uint16(pair[0])<<8 | uint16(pair[1]), nil
		}
		return uint16(pair[1])<<8 | uint16(pair[0]), nil
	}
	for off := 2; ; off += 2 {
		u, err := unit()
		switch {
		case err == io.EOF:
			return nil
		case err == io.ErrUnexpectedEOF:
			return fmt.Errorf("UTF-16 text of an odd length: a byte is left over at byte %d", off)
		case err != nil:
			return err
		case isControl(rune(u)):
			return fmt.Errorf("neither a PDF nor text: control character %U at byte %d", u, off)
		}
		c := rune(u)
		if utf16.IsSurrogate(c) {
			u2, err := unit()
			c = utf16.DecodeRune(c, rune(u2))
			if err != nil || c == utf8.RuneError {
				return fmt.Errorf("not UTF-16 text: the surrogate at byte %d is not one of a pair", off)
			}
			off += 2
		}
		w.WriteRune(c)
	}
}
