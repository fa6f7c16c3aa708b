package study

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// Report makes a File of Kind report from a radiology report: a PDF (it
// starts with "%PDF-") or plain UTF-8 text with no NUL. Anything else is an
// error naming the file.
func Report(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err // the error names path
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	if !fi.Mode().IsRegular() {
		return File{}, fmt.Errorf("report %s: not a regular file", path)
	}
	if fi.Size() == 0 {
		return File{}, fmt.Errorf("report %s: empty file", path)
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(5)
	if !bytes.Equal(head, []byte("%PDF-")) {
		if err := checkText(br); err != nil {
			return File{}, fmt.Errorf("report %s: %w", path, err)
		}
	}
	file := File{Path: path, Rel: filepath.Base(path), Size: fi.Size(), Kind: KindReport}
	if err := CheckName(file.Rel); err != nil {
		return File{}, fmt.Errorf("report %s: %w", path, err)
	}
	return file, nil
}

// checkText checks that r is UTF-8 text with no NUL.
func checkText(r *bufio.Reader) error {
	const notText = "neither a PDF nor UTF-8 text"
	for off := 0; ; {
		c, size, err := r.ReadRune()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case c == utf8.RuneError && size == 1:
			return fmt.Errorf("%s: byte %d is not UTF-8", notText, off)
		case c == 0:
			return fmt.Errorf("%s: NUL at byte %d", notText, off)
		}
		off += size
	}
}
