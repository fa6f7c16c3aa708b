package study_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"imageshare/study"
	"imageshare/synthetic"
)

// writeSynthetic writes a small synthetic study into a new folder under
// t.TempDir().
func writeSynthetic(t testing.TB, opts synthetic.Options) *synthetic.Result {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "study")
	}
	if opts.Rows == 0 {
		opts.Rows, opts.Columns = 32, 32
	}
	if opts.Images == 0 {
		opts.Images = 3
	}
	res, err := synthetic.Write(opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func scan(t testing.TB, paths ...string) *study.Scan {
	t.Helper()
	s, err := study.ScanPaths(context.Background(), paths, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// problem returns the problem with the file at path, or nil.
func problem(s *study.Scan, path string) *study.FileError {
	for _, p := range s.Problems {
		if p.Path == path {
			return p
		}
	}
	return nil
}

// inStudy returns the study holding the file at path, or nil.
func inStudy(s *study.Scan, path string) *study.Study {
	for _, st := range s.Studies {
		for _, f := range st.Files {
			if f.Path == path {
				return st
			}
		}
	}
	return nil
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkErr checks that err is want: nil, or an error that wraps want.
func checkErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: %v, want no error", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

// replaceOnce replaces the one occurrence of old in b by new, of the same
// length.
func replaceOnce(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	if len(old) != len(new) || bytes.Count(b, []byte(old)) != 1 {
		t.Fatalf("cannot replace %q by %q: %d occurrences", old, new, bytes.Count(b, []byte(old)))
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}
