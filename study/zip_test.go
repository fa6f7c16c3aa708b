package study_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imageshare/study"
	"imageshare/synthetic"
)

// zipEntry is an entry that writeZip writes.
type zipEntry struct {
	name string
	data []byte
	// header, if not nil, changes the entry's header before it is written.
	header func(*zip.FileHeader)
	// raw writes data as it is, with the header's CRC and sizes.
	raw bool
}

func writeZip(t *testing.T, path string, entries []zipEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(0o644)
		if e.raw {
			h.Method = zip.Store
			h.CRC32 = crc32.ChecksumIEEE(e.data)
			h.CompressedSize64, h.UncompressedSize64 = uint64(len(e.data)), uint64(len(e.data))
		}
		if e.header != nil {
			e.header(h)
		}
		var w interface{ Write([]byte) (int, error) }
		var err error
		if e.raw {
			w, err = zw.CreateRaw(h)
		} else {
			w, err = zw.CreateHeader(h)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, path, buf.Bytes())
}

func unzip(t *testing.T, name string, opts study.UnzipOptions) (string, error) {
	t.Helper()
	dir := t.TempDir()
	return dir, study.Unzip(context.Background(), name, dir, opts)
}

func TestUnzip(t *testing.T) {
	res := writeSynthetic(t, synthetic.Options{Series: 2, Images: 2})
	top := filepath.Dir(filepath.Dir(res.Files[0]))
	var entries []zipEntry
	want := map[string][]byte{}
	for _, f := range res.Files {
		rel, _ := filepath.Rel(top, f)
		rel = filepath.ToSlash(rel)
		entries = append(entries, zipEntry{name: rel, data: readFile(t, f)})
		want[rel] = readFile(t, f)
	}
	entries = append(entries,
		zipEntry{name: "series-001/", header: func(h *zip.FileHeader) { h.SetMode(fs.ModeDir | 0o755) }},
		zipEntry{name: "empty/", header: func(h *zip.FileHeader) { h.SetMode(fs.ModeDir | 0o755) }},
		zipEntry{name: "notes/readme.txt", data: []byte("stored, not deflated\n"), raw: true})
	want["notes/readme.txt"] = []byte("stored, not deflated\n")
	name := writeZip(t, filepath.Join(t.TempDir(), "study.zip"), entries)

	var calls [][2]int64
	dir, err := unzip(t, name, study.UnzipOptions{Progress: func(done, total int64) { calls = append(calls, [2]int64{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && fi.Mode().Perm() != 0o700 {
				t.Errorf("folder %s has mode %v, want 0700", p, fi.Mode().Perm())
			}
			return nil
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = readFile(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("extracted %d files, want %d", len(got), len(want))
	}
	var total int64
	for rel, b := range want {
		total += int64(len(b))
		if !bytes.Equal(got[rel], b) {
			t.Errorf("%s: %d bytes extracted, want %d", rel, len(got[rel]), len(b))
		}
	}
	if len(calls) < 2 || calls[0] != [2]int64{0, total} || calls[len(calls)-1] != [2]int64{total, total} {
		t.Errorf("progress %v, want 0 to %d of %d", calls, total, total)
	}
	// The folders the files need, and none else.
	if _, err := os.Stat(filepath.Join(dir, "empty")); err == nil {
		t.Error("a folder entry was made")
	}
}

// TestUnzipRefused checks that a zip that is not safe to extract is refused,
// naming the zip and the entry, before anything is written.
func TestUnzipRefused(t *testing.T) {
	data := []byte("DICM data")
	good := zipEntry{name: "series-001/IM1.dcm", data: data}
	tests := []struct {
		name    string
		entries []zipEntry
		max     int64
		entry   string // the entry named; "" for none
		message string
	}{
		{"parent", []zipEntry{good, {name: "../evil", data: data}}, 0, "../evil", `".." element`},
		{"parent inside", []zipEntry{{name: "a/../../evil", data: data}}, 0, "a/../../evil", `".." element`},
		{"absolute", []zipEntry{{name: "/etc/cron.d/evil", data: data}}, 0, "/etc/cron.d/evil", "empty"},
		{"backslash", []zipEntry{{name: `..\evil`, data: data}}, 0, `..\evil`, "Windows"},
		{"drive", []zipEntry{{name: "C:/evil", data: data}}, 0, "C:/evil", "Windows"},
		{"folder", []zipEntry{{name: "../", header: func(h *zip.FileHeader) { h.SetMode(fs.ModeDir | 0o755) }}}, 0, "../", `".." element`},
		{"encrypted", []zipEntry{good, {name: "secret.dcm", data: data, header: func(h *zip.FileHeader) { h.Flags |= 0x1 }}}, 0, "secret.dcm", "is encrypted: unzip it first"},
		{"symlink", []zipEntry{{name: "link.dcm", data: []byte("/etc/passwd"), header: func(h *zip.FileHeader) { h.SetMode(fs.ModeSymlink | 0o777) }}}, 0, "link.dcm", "symbolic link"},
		{"device", []zipEntry{{name: "dev", header: func(h *zip.FileHeader) { h.SetMode(fs.ModeDevice | 0o600) }}}, 0, "dev", "not a regular file"},
		{"method", []zipEntry{{name: "x.dcm", data: data, raw: true, header: func(h *zip.FileHeader) { h.Method = 14 }}}, 0, "x.dcm", "method 14"},
		{"too large", []zipEntry{good, good2("b.dcm", 10)}, 12, "", "more than 12 B once unzipped"},
		{"more than declared", []zipEntry{{name: "bomb.dcm", data: make([]byte, 1000), raw: true, header: func(h *zip.FileHeader) { h.UncompressedSize64 = 10 }}}, 0, "bomb.dcm", "more than the 10 bytes it declares"},
		{"less than declared", []zipEntry{{name: "short.dcm", data: data, raw: true, header: func(h *zip.FileHeader) { h.UncompressedSize64 = 100 }}}, 0, "short.dcm", "less than the 100 bytes"},
		{"bad CRC", []zipEntry{{name: "flipped.dcm", data: data, raw: true, header: func(h *zip.FileHeader) { h.CRC32 ^= 1 }}}, 0, "flipped.dcm", "CRC"},
		{"twice", []zipEntry{good, good}, 0, good.name, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := writeZip(t, filepath.Join(t.TempDir(), "study.zip"), tt.entries)
			dir, err := unzip(t, name, study.UnzipOptions{MaxBytes: tt.max})
			var ze *study.ZipError
			if !errors.As(err, &ze) || ze.Zip != name || ze.Entry != tt.entry {
				t.Fatalf("Unzip: %v, want a ZipError naming %s and entry %q", err, name, tt.entry)
			}
			if !strings.Contains(err.Error(), tt.message) || !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("error %q, want it to name the zip and say %q", err, tt.message)
			}
			if tt.entry != "" && !strings.Contains(err.Error(), "zip entry \""+tt.entry+"\"") {
				t.Errorf("error %q does not name the entry %q", err, tt.entry)
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 0 && !slices.Contains([]string{"more than declared", "less than declared", "bad CRC", "twice"}, tt.name) {
				t.Errorf("%d entries written before the zip was refused", len(ents))
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
				t.Error("evil written outside the folder")
			}
		})
	}

	// Not a zip at all, and no file.
	for _, b := range [][]byte{[]byte("PK\x03\x04 but nothing else"), nil} {
		name := writeFile(t, filepath.Join(t.TempDir(), "study.zip"), b)
		_, err := unzip(t, name, study.UnzipOptions{})
		var ze *study.ZipError
		if !errors.As(err, &ze) || !strings.Contains(err.Error(), "not a zip file") {
			t.Errorf("%q: %v, want not a zip file", b, err)
		}
	}
	if _, err := unzip(t, filepath.Join(t.TempDir(), "none.zip"), study.UnzipOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no zip: %v, want not exist", err)
	}
}

// good2 is an entry of n bytes.
func good2(name string, n int) zipEntry { return zipEntry{name: name, data: make([]byte, n)} }

func TestUnzipCanceled(t *testing.T) {
	name := writeZip(t, filepath.Join(t.TempDir(), "study.zip"), []zipEntry{good2("a", 10), good2("b", 10)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := study.Unzip(ctx, name, t.TempDir(), study.UnzipOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Unzip: %v, want context.Canceled", err)
	}
}
