package main

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

	"imageshare/console"
	"imageshare/study"
)

// A zip named on the command line is extracted into a staging folder of
// the spool, readable by the sender's user only, and read as a folder; the
// folder is removed once the offer is packed, as the offer holds its own
// encrypted copy. A sender killed before that leaves it behind: the next
// send removes staging folders older than staleStaging.
//
//	<spool>/staging/<random>/<N>/<zip's name less .zip>/...   the entries of the Nth path

// staleStaging is the age of a staging folder that no send still uses.
const staleStaging = 24 * time.Hour

// sources are the paths to scan: the paths named, a zip replaced by the
// folder it is extracted to.
type sources struct {
	paths   []string
	staging string            // this send's staging folder, or ""
	zips    map[string]string // an extracted folder to its zip, as named
}

// isZip reports whether path is a zip file: named .zip, or starting as a
// zip does (and not a DICOM file whose preamble happens to).
func isZip(path string) bool {
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

// stageSources extracts the zips among o.paths into a staging folder of the
// spool o.spool. The caller removes it with cleanup, whatever happens.
func stageSources(ctx context.Context, o *sendOptions, stderr io.Writer, showProgress bool) (*sources, error) {
	s := &sources{paths: append([]string(nil), o.paths...), zips: map[string]string{}}
	stagingRoot := filepath.Join(o.spool, "staging")
	removeStale(stagingRoot, stderr)
	if o.pacs.url != "" {
		return s, stagePACS(ctx, o, s, stagingRoot, stderr, showProgress)
	}
	for _, p := range s.paths {
		// A mistyped path is named plainly, before anything is read.
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return s, &usageError{fmt.Sprintf("no such file or folder: %s", p)}
		}
	}
	for i, p := range s.paths {
		if !isZip(p) {
			continue
		}
		if err := s.makeStaging(stagingRoot); err != nil {
			return s, fmt.Errorf("making the staging folder for %s: %w", p, err)
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if name == "" || name == "." || strings.HasPrefix(name, ".") {
			name = "zip"
		}
		dir := filepath.Join(s.staging, strconv.Itoa(i), name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return s, fmt.Errorf("making the staging folder for %s: %w", p, err)
		}
		var bar *console.Progress
		err := study.Unzip(ctx, p, dir, study.UnzipOptions{Progress: func(done, total int64) {
			if bar == nil {
				bar = console.NewProgress(stderr, total, "unzipping", showProgress)
			}
			bar.Set(done)
		}})
		bar.Finish()
		var ze *study.ZipError
		if errors.As(err, &ze) {
			return s, fmt.Errorf("%w: %w", errBadInput, err)
		}
		if err != nil {
			return s, err
		}
		dir = mediumInside(dir)
		s.paths[i] = dir
		s.zips[dir] = p
	}
	return s, nil
}

// makeStaging makes this send's staging folder in root, once.
func (s *sources) makeStaging(root string) error {
	if s.staging != "" {
		return nil
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(root, "")
	if err != nil {
		return err
	}
	s.staging = dir
	return nil
}

// cleanup removes the staging folder. It may be called more than once.
func (s *sources) cleanup(stderr io.Writer) {
	if s == nil || s.staging == "" {
		return
	}
	if err := os.RemoveAll(s.staging); err != nil {
		fmt.Fprintf(stderr, "sender: warning: removing the staging folder %s: %v\n", s.staging, err)
	}
	s.staging = ""
}

// shown is how a path under an extracted zip is shown: its name in the zip,
// and the zip's path. Other paths are as they are.
func (s *sources) shown(path string) string {
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

// removeStale removes the staging folders of sends that ended without
// removing theirs: killed, or the machine stopped.
func removeStale(stagingRoot string, stderr io.Writer) {
	entries, err := os.ReadDir(stagingRoot)
	if err != nil {
		return // none yet
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleStaging {
			continue
		}
		if err := os.RemoveAll(filepath.Join(stagingRoot, e.Name())); err != nil {
			fmt.Fprintf(stderr, "sender: warning: removing a stale staging folder: %v\n", err)
		}
	}
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
