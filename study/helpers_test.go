package study_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"imageshare/study"
	"imageshare/synthetic"
)

// missing skips a test whose data or tool is absent, or fails it when the
// environment variable CI is set: there, everything must be present.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// sharedDICOM returns the real test data, ../shared/dicom next to the
// folder that holds go.mod.
func sharedDICOM(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared", "dicom")
	if _, err := os.Stat(filepath.Join(shared, "README.md")); err != nil {
		missing(t, "real DICOM test data is not at %s (../shared/dicom next to the module): %v", shared, err)
	}
	return shared
}

// libraryTestdata returns the testdata folder of github.com/suyashkumar/dicom
// in the module cache.
func libraryTestdata(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
	dir := filepath.Join(strings.TrimSpace(string(out)), "testdata")
	if err != nil || strings.TrimSpace(string(out)) == "" {
		missing(t, "cannot find github.com/suyashkumar/dicom in the module cache: %v", err)
	}
	return dir
}

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
