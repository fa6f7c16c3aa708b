package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestGenerate(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "-out", out, "-series", "2", "-images", "3", "-rows", "16", "-cols", "16", "-seed", "5", "-patient", "DOE^JOHN")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "wrote 6 files, ") || !strings.Contains(stdout, "seed 5") {
		t.Errorf("stdout %q", stdout)
	}
	files, _ := filepath.Glob(filepath.Join(out, "series-*", "IM*.dcm"))
	if len(files) != 6 {
		t.Errorf("%d files, want 6", len(files))
	}

	copies := t.TempDir()
	code, stdout, stderr = runCmd(t, "-replicate", out, "-copies", "2", "-out", copies)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "wrote 12 files, ") {
		t.Fatalf("replicate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(copies, "copy-002", "series-002", "IM00003.dcm")); err != nil {
		t.Error(err)
	}
}

// TestDefaultSeed checks that, without -seed, the same options write the
// same study: scripts and demos rely on it.
func TestDefaultSeed(t *testing.T) {
	var outputs []string
	for range 2 {
		dir := t.TempDir()
		code, stdout, stderr := runCmd(t, "-out", dir, "-images", "1", "-rows", "8", "-cols", "8")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outputs = append(outputs, strings.TrimSuffix(stdout, dir+"\n"))
	}
	if outputs[0] != outputs[1] || !strings.Contains(outputs[0], "seed 1,") {
		t.Errorf("two runs: %q", outputs)
	}
}

func TestUsage(t *testing.T) {
	code, stdout, _ := runCmd(t, "-help")
	for _, want := range []string{"Usage:", "Options:", "Examples:", "EXIT STATUS"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("-help: exit %d, no %q in\n%s", code, want, stdout)
		}
	}
	for _, args := range [][]string{
		{},
		{"-out"},
		{"-nope", "-out", "x"},
		{"-out", "x", "extra"},
		{"-out", "x", "-images", "0"},
		{"-out", "x", "-copies", "2"},
		{"-replicate", "src", "-out", "x", "-images", "3"},
		{"-replicate", "src", "-out", "x", "-copies", "0"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "dicomgen: error: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and an error", args, code, stdout, stderr)
		}
	}
	code, _, stderr := runCmd(t, "-replicate", filepath.Join(t.TempDir(), "nowhere"), "-out", t.TempDir())
	if code != 1 || !strings.HasPrefix(stderr, "dicomgen: error: ") {
		t.Errorf("missing source: exit %d, stderr %q; want 1", code, stderr)
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr strings.Builder
	if code := run(ctx, []string{"-out", t.TempDir()}, &stdout, &stderr); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
}
