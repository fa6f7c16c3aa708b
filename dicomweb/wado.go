package dicomweb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"imageshare/internal/atomicfile"
)

// dicmOffset is where "DICM" stands in a DICOM file (PS3.10 7.1), after
// the 128-byte preamble.
const dicmOffset = 128

// RetrieveStudy fetches every instance of the study with WADO-RS
// (GET {Base}/studies/{uid}, in the transfer syntax the PACS holds) into
// dir, which it creates if needed, as 000001.dcm, 000002.dcm… in the
// order received, replacing files of those names. Each part is streamed to
// a temporary file, synced, and renamed only once complete and seen to
// start like a DICOM file, so a name never holds a partial file. progress,
// if not nil, is called after each file with the files and bytes so far.
//
// It returns the paths written. On error they are those completed before
// it, and the error names the part and the request. A study the PACS does
// not have is ErrStudyNotFound.
func (c *Client) RetrieveStudy(ctx context.Context, studyUID, dir string, progress func(files int, bytes int64)) ([]string, error) {
	if err := checkStudyUID(studyUID); err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/studies/"+studyUID, nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", `multipart/related; type="application/dicom"; transfer-syntax=*`)
	where := "GET " + req.URL.String()

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer root.Close()

	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s (%w)", ErrStudyNotFound, studyUID, statusError(resp))
	}
	if resp.StatusCode/100 != 2 {
		return nil, statusError(resp)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, fmt.Errorf("%s: the PACS sent no instance of the study (HTTP %s)", where, resp.Status)
	}
	boundary, err := multipartBoundary(resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}

	var paths []string
	var total int64
	mr := multipart.NewReader(resp.Body, boundary)
	for n := 1; ; n++ {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return paths, fmt.Errorf("%s: part %d: %w", where, n, err)
		}
		name := fmt.Sprintf("%06d.dcm", n)
		size, err := savePart(root, name, part)
		part.Close()
		if err != nil {
			return paths, fmt.Errorf("%s: part %d: %w", where, n, err)
		}
		paths = append(paths, filepath.Join(dir, name))
		total += size
		if progress != nil {
			progress(len(paths), total)
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: the PACS sent no instance of the study", where)
	}
	if err := syncDir(root); err != nil {
		return paths, fmt.Errorf("%s: %w", where, err)
	}
	return paths, nil
}

// multipartBoundary reads the boundary of a multipart/related answer; the
// value may be quoted, and other parameters may come with it, such as
// type=application/dicom, which servers send unquoted although RFC 2045
// wants "/" quoted.
func multipartBoundary(contentType string) (string, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType, params, err = parseMediaTypeLoosely(contentType)
		if err != nil {
			return "", fmt.Errorf("content type %q: %w", contentType, err)
		}
	}
	if mediaType != "multipart/related" {
		return "", fmt.Errorf("content type %q: want multipart/related", contentType)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return "", fmt.Errorf("content type %q: no boundary", contentType)
	}
	return boundary, nil
}

// parseMediaTypeLoosely splits a content type at its semicolons, for
// values that mime.ParseMediaType refuses. Boundaries cannot hold ";"
// (RFC 2046 5.1.1).
func parseMediaTypeLoosely(contentType string) (string, map[string]string, error) {
	fields := strings.Split(contentType, ";")
	mediaType := strings.ToLower(strings.TrimSpace(fields[0]))
	params := map[string]string{}
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			if strings.TrimSpace(f) == "" {
				continue
			}
			return "", nil, fmt.Errorf("parameter %q has no value", strings.TrimSpace(f))
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		params[strings.ToLower(strings.TrimSpace(key))] = value
	}
	return mediaType, params, nil
}

// savePart streams one part to name in root through a temporary file,
// and returns its size. On error no file is left under either name.
func savePart(root *os.Root, name string, part *multipart.Part) (int64, error) {
	if ct := part.Header.Get("Content-Type"); ct != "" {
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || mediaType != "application/dicom" {
			return 0, fmt.Errorf("content type %q: want application/dicom", ct)
		}
	}
	head := make([]byte, dicmOffset+4)
	if _, err := io.ReadFull(part, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, errors.New("not a DICOM file: shorter than its preamble and DICM prefix")
		}
		return 0, err
	}
	if !bytes.Equal(head[dicmOffset:], []byte("DICM")) {
		return 0, errors.New(`not a DICOM file: no "DICM" after the 128-byte preamble`)
	}

	tmp := "." + name + ".part"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	size, err := writePart(f, head, part)
	if err != nil {
		root.Remove(tmp)
		return 0, err
	}
	if err := atomicfile.RetryRename(func() error { return root.Rename(tmp, name) }); err != nil {
		root.Remove(tmp)
		return 0, err
	}
	return size, nil
}

// writePart writes head and the rest of part to f, syncs and closes it.
func writePart(f *os.File, head []byte, part io.Reader) (int64, error) {
	_, err := f.Write(head)
	var n int64
	if err == nil {
		n, err = io.Copy(f, part)
		var pathErr *fs.PathError // the file's; reading the answer's are not
		if err != nil && !errors.As(err, &pathErr) {
			err = fmt.Errorf("reading it after %d bytes: %w", int64(len(head))+n, err)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return int64(len(head)) + n, err
}

// syncDir makes the renames in root durable.
func syncDir(root *os.Root) error {
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
