// Package testenv is what the project's tests share about where they run:
// the real DICOM in ../shared/dicom, the DICOM library's own test files,
// and the rule that a test whose data, tool or privilege is absent skips
// when run by hand but fails under CI, which must run everything.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Missing skips t for what the message says is absent, or fails it when
// the environment variable CI is set: there, everything must be present.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// SharedDICOM returns the real test data, ../shared/dicom next to the
// folder that holds go.mod.
func SharedDICOM(t testing.TB) string {
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
		Missing(t, "real DICOM test data is not at %s (../shared/dicom next to the module): %v", shared, err)
	}
	return shared
}

// CTSeries returns the first n files, in name order, of the real CT series
// ct-pancreas in ../shared/dicom.
func CTSeries(t testing.TB, n int) []string {
	t.Helper()
	dir := filepath.Join(SharedDICOM(t), "ct-pancreas", "CT_series")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.dcm"))
	if len(paths) < n {
		Missing(t, "the real CT series at %s has %d files, fewer than the %d the test needs", dir, len(paths), n)
	}
	slices.Sort(paths)
	return paths[:n]
}

// LibraryTestdata returns the testdata folder of github.com/suyashkumar/dicom
// in the module cache.
func LibraryTestdata(t testing.TB) string {
	t.Helper()
	// go test puts its own go command first on the test's PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		Missing(t, "no go command on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		Missing(t, "cannot find github.com/suyashkumar/dicom in the module cache: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "testdata")
}
