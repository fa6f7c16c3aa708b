package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// ArtifactsEnv names the folder where the screenshots are kept; CI sets it
// to the clone's artifacts/ and keeps that folder.
const ArtifactsEnv = "IMAGESHARE_ARTIFACTS"

// artifactDir is one test's artifacts folder and its screenshot count.
type artifactDir struct {
	dir string
	n   atomic.Int32
}

func (a *artifactDir) next() int { return int(a.n.Add(1)) }

// dirs holds the folder of each running test, made on the first call of
// ArtifactsDir and forgotten when the test ends.
var dirs sync.Map // testing.TB → *artifactDir

// ArtifactsDir returns the folder for t's screenshots and other files a
// person looks at after the run: $IMAGESHARE_ARTIFACTS/<package>/<test>,
// where <package> is the test's package folder in the module (such as
// station/receiving, so that two packages' tests of the same name, run in
// parallel, keep apart) and <test> is t.Name() with every character other
// than letters, digits, '.', '-' and '_' made '_'. The folder is emptied and
// made on the test's first call, so that it holds only this run's files.
// Without $IMAGESHARE_ARTIFACTS it is a folder in t.TempDir().
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	return artifactsFor(t).dir
}

func artifactsFor(t testing.TB) *artifactDir {
	t.Helper()
	if a, ok := dirs.Load(t); ok {
		return a.(*artifactDir)
	}
	dir := filepath.Join(t.TempDir(), "artifacts")
	if root := os.Getenv(ArtifactsEnv); root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(abs, packageFolder(), sanitise(t.Name()))
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a, loaded := dirs.LoadOrStore(t, &artifactDir{dir: dir})
	if !loaded {
		t.Cleanup(func() { dirs.Delete(t) })
	}
	return a.(*artifactDir)
}

// packageFolder returns the test's folder (go test runs a test in its
// package's folder) relative to the folder holding go.mod, or its base name
// if there is no go.mod above it.
func packageFolder() string {
	wd, err := os.Getwd()
	if err != nil {
		return "unknown"
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "root"
			}
			return rel
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Base(wd)
		}
		dir = parent
	}
}

// sanitise makes s a file name: letters, digits, '.', '-' and '_' stay,
// anything else becomes '_'.
func sanitise(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
