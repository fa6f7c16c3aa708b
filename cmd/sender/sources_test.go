package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestStageSourcesRefused(t *testing.T) {
	dir := t.TempDir()
	evil := writeTestZip(t, filepath.Join(dir, "evil.zip"), map[string]string{"IM1.dcm": "DICM", "../evil": "x"})
	o := &sendOptions{spool: filepath.Join(dir, "spool"), paths: []string{evil}}
	src, err := stageSources(context.Background(), o, io.Discard, false)
	src.cleanup(io.Discard)
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != exitBadInput || !strings.Contains(stderr.String(), `zip entry "../evil"`) {
		t.Errorf("exit %d, %q; want %d naming the entry", code, stderr.String(), exitBadInput)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "spool", "staging")); len(ents) > 0 {
		t.Errorf("%d staging folders left", len(ents))
	}
	if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
		t.Error("../evil written")
	}
}
