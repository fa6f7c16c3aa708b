package synthetic

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// dcmdump checks that dcmtk's dcmdump reads files without an error or a
// warning.
func dcmdump(t testing.TB, files ...string) {
	t.Helper()
	bin, err := exec.LookPath("dcmdump")
	if err != nil {
		missing(t, "dcmdump (dcmtk) is not installed: %v", err)
	}
	for len(files) > 0 {
		batch := files[:min(len(files), 64)]
		files = files[len(batch):]
		cmd := exec.Command(bin, batch...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("dcmdump %s…: %v\n%s", batch[0], err, stderr.String())
		}
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
