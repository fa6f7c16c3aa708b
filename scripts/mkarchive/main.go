// Command mkarchive writes a release archive whose bytes depend only on the
// files it holds: make dist (scripts/dist.sh) runs it for each platform.
//
//	go run ./scripts/mkarchive -mtime 1765100000 -o imageshare-v1.0-linux-amd64.tar.gz DIR
//
// The archive holds DIR itself, as its one top-level folder, and
// everything below it: entries in byte order of their paths, folders
// before their contents, every time set to -mtime (SOURCE_DATE_EPOCH),
// owner 0:0 with no user or group names, modes 0755 for folders and
// executables (any x bit) and 0644 for other files. A name ending in .zip
// makes a zip (Windows opens it without other tools), .tar.gz a gzip'd
// tar (ustar, PAX for a long name); gzip's header carries no name and no time.
//
// It is a Go program, not tar and zip, so that the archives are the same
// bytes whoever makes them: GNU tar, bsdtar and Info-ZIP each need
// their own flags to leave out times, owners and directory order (and
// zip stores local time), and a Mac has other versions of both than
// Debian.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const usage = `mkarchive writes a reproducible .zip or .tar.gz of a folder.

Usage:
    go run ./scripts/mkarchive -mtime UNIX-SECONDS -o ARCHIVE DIR

ARCHIVE ends in .zip or .tar.gz; it holds DIR's last element as its one
top-level folder. Every entry gets the time -mtime, owner 0:0, and mode
0755 (folders, executables) or 0644.

EXIT STATUS
    0 written, 1 failed, 2 bad usage
`

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkarchive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	out := fs.String("o", "", "the archive to write, .zip or .tar.gz")
	mtime := fs.Int64("mtime", -1, "the time of every entry, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || *mtime < 0 || fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := write(*out, fs.Arg(0), time.Unix(*mtime, 0).UTC()); err != nil {
		fmt.Fprintf(stderr, "mkarchive: error: %v\n", err)
		return 1
	}
	return 0
}

// entry is one file or folder of the archive.
type entry struct {
	name string // slash-separated, under the top-level folder; folders end in /
	path string // on disk
	mode fs.FileMode
	size int64
}

// entries lists dir and what it holds, sorted, with normalised modes.
func entries(dir string) ([]entry, error) {
	top := filepath.Base(filepath.Clean(dir))
	var es []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(top, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			es = append(es, entry{name: name + "/", path: p, mode: fs.ModeDir | 0o755})
		case info.Mode().IsRegular():
			mode := fs.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			es = append(es, entry{name: name, path: p, mode: mode, size: info.Size()})
		default:
			return fmt.Errorf("%s is neither a file nor a folder", p)
		}
		return nil
	})
	// "a/" sorts before "a/b" and after "a-b" alike: folders come before
	// their contents.
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return es, err
}

// write writes the archive out of dir, through a temporary file renamed
// into place.
func write(out, dir string, mtime time.Time) (err error) {
	es, err := entries(dir)
	if err != nil {
		return err
	}
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	switch {
	case strings.HasSuffix(out, ".zip"):
		err = writeZip(f, es, mtime)
	case strings.HasSuffix(out, ".tar.gz"):
		err = writeTarGz(f, es, mtime)
	default:
		err = fmt.Errorf("%s: the name must end in .zip or .tar.gz", out)
	}
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}

func writeZip(w io.Writer, es []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(e.mode)
		if e.mode.IsDir() {
			h.Method = zip.Store
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if !e.mode.IsDir() {
			if err := copyFile(fw, e); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

func writeTarGz(w io.Writer, es []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, flate.BestCompression)
	if err != nil {
		return err
	}
	// gzip.Writer's header: no name, no time (ModTime zero), OS unknown.
	tw := tar.NewWriter(gz)
	for _, e := range es {
		h := &tar.Header{
			Name:    e.name,
			Mode:    int64(e.mode.Perm()),
			ModTime: mtime,
		}
		if e.mode.IsDir() {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !e.mode.IsDir() {
			if err := copyFile(tw, e); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// copyFile copies e's file, which must still be the size it was listed at.
func copyFile(w io.Writer, e entry) error {
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	if n != e.size {
		return fmt.Errorf("%s changed while being archived", e.path)
	}
	return nil
}
