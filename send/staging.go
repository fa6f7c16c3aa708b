package send

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"imageshare/study"
)

// ErrBadInput is what refuses a study: a file that is not DICOM, is
// truncated or cannot be read, a DICOMDIR or zip that cannot be followed
// or is unsafe, a report that cannot be read.
var ErrBadInput = errors.New("input refused")

// A send's own folder in the spool holds what it reads before it packs: a
// zip extracted, a study retrieved from the PACS, a report converted to
// UTF-8. It is readable by the sender's user only, and removed once the
// offer is packed, as the offer holds its own encrypted copy. A sender
// killed before that leaves it behind: RemoveStale removes staging folders
// older than StaleStaging.
//
//	<spool>/staging/<random>/<N>/<zip's name less .zip>/...   the entries of the Nth path
//	<spool>/staging/<random>/pacs/...                          a study retrieved from the PACS
//	<spool>/staging/<random>/report/<its name>                 a report converted to UTF-8
//	<spool>/staging/<random>/upload/...                        what a page uploaded

// StaleStaging is the age of a staging folder that no send still uses.
const StaleStaging = 24 * time.Hour

// Staging is one send's staging folder in a spool, made when first needed.
type Staging struct {
	root string            // <spool>/staging
	dir  string            // this send's folder, or ""
	zips map[string]string // an extracted folder to its zip, as named
}

// NewStaging returns the staging folder of a send from the spool in
// spoolDir. Nothing is made until it is needed.
func NewStaging(spoolDir string) *Staging {
	return &Staging{root: filepath.Join(spoolDir, "staging"), zips: map[string]string{}}
}

// NoSuchPathError is a path to send that does not exist.
type NoSuchPathError struct{ Path string }

func (e *NoSuchPathError) Error() string { return "no such file or folder: " + e.Path }

// RemoveStale removes the staging folders of sends that ended without
// removing theirs: killed, or the machine stopped. It returns what it
// could not remove.
func (s *Staging) RemoveStale() (errs []error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil // none yet
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < StaleStaging {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.root, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("removing a stale staging folder: %w", err))
		}
	}
	return errs
}

// Dir makes this send's staging folder, once, and returns it.
func (s *Staging) Dir() (string, error) {
	if s.dir != "" {
		return s.dir, nil
	}
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(s.root, "")
	if err != nil {
		return "", err
	}
	s.dir = dir
	return dir, nil
}

// Folder makes a folder name in this send's staging folder and returns
// its path.
func (s *Staging) Folder(name string) (string, error) {
	dir, err := s.Dir()
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// Cleanup removes the staging folder. It may be called more than once.
func (s *Staging) Cleanup() error {
	if s == nil || s.dir == "" {
		return nil
	}
	dir := s.dir
	s.dir = ""
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the staging folder %s: %w", dir, err)
	}
	return nil
}

// Shown is how a path under an extracted zip is shown: its name in the
// zip, and the zip's path. Other paths are as they are.
func (s *Staging) Shown(path string) string {
	if s == nil {
		return path
	}
	for dir, zip := range s.zips {
		if rel, ok := strings.CutPrefix(path, dir+string(filepath.Separator)); ok {
			return filepath.ToSlash(rel) + " in " + zip
		}
		if path == dir {
			return zip
		}
	}
	return path
}

// Stage checks that each path exists, and extracts the zips among them
// into the staging folder: it returns the paths to scan, a zip replaced by
// the folder it is extracted to. progress, if set, is called with each
// zip's bytes extracted so far and its total.
func (s *Staging) Stage(ctx context.Context, paths []string, progress func(zip string, done, total int64)) ([]string, error) {
	paths = append([]string(nil), paths...)
	for _, p := range paths {
		// A mistyped path is named plainly, before anything is read.
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil, &NoSuchPathError{Path: p}
		}
	}
	for i, p := range paths {
		if !IsZip(p) {
			continue
		}
		dir, err := s.Unzip(ctx, strconv.Itoa(i), p, func(done, total int64) {
			if progress != nil {
				progress(p, done, total)
			}
		})
		if err != nil {
			return nil, err
		}
		paths[i] = dir
	}
	return paths, nil
}

// Unzip extracts the zip into the folder name of the staging folder, and
// returns the folder to scan: the zip's own, or the medium inside it.
func (s *Staging) Unzip(ctx context.Context, name, zip string, progress func(done, total int64)) (string, error) {
	base := strings.TrimSuffix(filepath.Base(zip), filepath.Ext(zip))
	if base == "" || base == "." || strings.HasPrefix(base, ".") {
		base = "zip"
	}
	dir, err := s.Folder(filepath.Join(name, base))
	if err != nil {
		return "", fmt.Errorf("making the staging folder for %s: %w", zip, err)
	}
	err = study.Unzip(ctx, zip, dir, study.UnzipOptions{Progress: progress})
	var ze *study.ZipError
	if errors.As(err, &ze) {
		return "", fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if err != nil {
		return "", err
	}
	dir = mediumInside(dir)
	s.zips[dir] = zip
	return dir, nil
}

// IsZip reports whether path is a zip file: named .zip, or starting as a
// zip does (and not a DICOM file whose preamble happens to).
func IsZip(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 132)
	n, _ := io.ReadFull(f, head)
	return n >= 4 && bytes.Equal(head[:4], []byte("PK\x03\x04")) && (n < 132 || string(head[128:]) != "DICM")
}

// mediumInside returns the one folder in dir when dir holds nothing else
// and that folder has a DICOMDIR at its top: a CD copied into a folder,
// then zipped. Its DICOMDIR is then followed, as on the CD; otherwise the
// CD's viewer would be refused as not DICOM.
func mediumInside(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || !entries[0].IsDir() {
		return dir
	}
	if inner := filepath.Join(dir, entries[0].Name()); study.IsMedium(inner) {
		return inner
	}
	return dir
}
