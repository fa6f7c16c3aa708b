package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// tree makes the same files in a new folder named top, written in the
// given order and with times and modes that must not reach the archive.
func tree(t *testing.T, top string, reverse bool, touched time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), top)
	files := []struct {
		name string
		mode os.FileMode
		data string
	}{
		{"sender", 0o700, "binary"},
		{"README.md", 0o600, "read me"},
		{"docs/NETWORKS.md", 0o664, "networks"},
		{"docs-b/x", 0o644, "sorts after docs/"},
		{"a-b", 0o644, "sorts before a/"},
		{"a/c", 0o644, "in a"},
	}
	if reverse {
		slices.Reverse(files)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, touched, touched); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var want = []string{
	"pkg/ 755", "pkg/README.md 644", "pkg/a-b 644", "pkg/a/ 755", "pkg/a/c 644",
	"pkg/docs-b/ 755", "pkg/docs-b/x 644", "pkg/docs/ 755", "pkg/docs/NETWORKS.md 644", "pkg/sender 755",
}

func TestArchivesAreReproducible(t *testing.T) {
	const epoch = 1765100000
	for _, ext := range []string{".zip", ".tar.gz"} {
		t.Run(ext, func(t *testing.T) {
			var got [2][]byte
			for i := range got {
				out := filepath.Join(t.TempDir(), "a"+ext)
				dir := tree(t, "pkg", i == 1, time.Unix(int64(1e9*(i+1)), 0))
				if err := write(out, dir, time.Unix(epoch, 0)); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = b
			}
			if !bytes.Equal(got[0], got[1]) {
				t.Fatal("the same files, written in another order at other times, gave other bytes")
			}
			list := listing(t, ext, got[0], epoch)
			if !slices.Equal(list, want) {
				t.Errorf("entries\n%q\nwant\n%q", list, want)
			}
		})
	}
}

// listing reads the archive back: "name mode" for each entry, in order,
// checking that every time is epoch and every owner 0.
func listing(t *testing.T, ext string, b []byte, epoch int64) []string {
	t.Helper()
	var list []string
	add := func(name string, mode os.FileMode, mtime time.Time) {
		list = append(list, fmt.Sprintf("%s %03o", name, mode.Perm()))
		if mtime.Unix() != epoch {
			t.Errorf("%s: time %v, want %v", name, mtime, time.Unix(epoch, 0))
		}
	}
	if ext == ".zip" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			add(f.Name, f.Mode(), f.Modified)
		}
		return list
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header has name %q and time %v, want none", gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d (%q:%q), want 0:0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		add(h.Name, h.FileInfo().Mode(), h.ModTime)
	}
	return list
}
