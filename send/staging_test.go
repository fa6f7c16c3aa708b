package send

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTestZip(t *testing.T, path string, entries map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIsZip(t *testing.T) {
	dir := t.TempDir()
	preamble := append([]byte("PK\x03\x04"), make([]byte, 124)...)
	for name, tt := range map[string]struct {
		data []byte
		want bool
	}{
		"study.zip":   {[]byte("not even a zip"), true}, // refused when unzipped
		"STUDY.ZIP":   {nil, true},
		"export":      {[]byte("PK\x03\x04 and more"), true},
		"IM1.dcm":     {append(preamble, []byte("DICM")...), false}, // a preamble that looks like a zip
		"notes.txt":   {[]byte("PK"), false},
		"IM2":         {nil, false},
		"folder.zip/": {nil, false},
	} {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			os.Mkdir(p, 0o700)
		} else if err := os.WriteFile(p, tt.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := IsZip(p); got != tt.want {
			t.Errorf("IsZip(%s) = %v, want %v", name, got, tt.want)
		}
	}
}

func TestStage(t *testing.T) {
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	// Staging folders of earlier sends: one killed two days ago, one
	// running now.
	stale := filepath.Join(spoolDir, "staging", "stale")
	running := filepath.Join(spoolDir, "staging", "running")
	for _, d := range []string{stale, running} {
		if err := os.MkdirAll(filepath.Join(d, "0", "x"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	zipped := writeTestZip(t, filepath.Join(dir, "ct.zip"), map[string]string{"series-1/IM1.dcm": "DICM"})
	folder := filepath.Join(dir, "folder")
	os.Mkdir(folder, 0o700)

	st := NewStaging(spoolDir)
	if errs := st.RemoveStale(); len(errs) > 0 {
		t.Fatal(errs)
	}
	paths, err := st.Stage(context.Background(), []string{folder, zipped}, nil)
	if err != nil {
		t.Fatal(err)
	}
	staging, err := st.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale staging folder: %v, want it removed", err)
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("a running send's staging folder: %v, want it kept", err)
	}
	if paths[0] != folder || filepath.Base(paths[1]) != "ct" || !strings.HasPrefix(paths[1], staging+string(filepath.Separator)) {
		t.Errorf("paths %q, want %s and a folder ct in %s", paths, folder, staging)
	}
	if fi, err := os.Stat(staging); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("staging folder: %v, %v; want mode 0700", fi, err)
	}
	extracted := filepath.Join(paths[1], "series-1", "IM1.dcm")
	if b, err := os.ReadFile(extracted); err != nil || string(b) != "DICM" {
		t.Errorf("extracted file: %q, %v", b, err)
	}
	if got, want := st.Shown(extracted), "series-1/IM1.dcm in "+zipped; got != want {
		t.Errorf("shown as %q, want %q", got, want)
	}
	if got := st.Shown(filepath.Join(folder, "IM1")); got != filepath.Join(folder, "IM1") {
		t.Errorf("a file of a folder shown as %q", got)
	}
	if err := st.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := st.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(staging); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging folder after cleanup: %v, want it removed", err)
	}
}
