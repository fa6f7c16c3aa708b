package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"imageshare/internal/testenv"
	"imageshare/study"
	"imageshare/synthetic"
)

// TestDiskFull fills the receiver's disk (a small tmpfs): the receiver
// stops with exit 11 and an error naming the folder, no file under its
// own name is incomplete, and once there is room the same command resumes.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "mounting a small tmpfs needs root; CI runs this test as root")
	}
	work := t.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "state"), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	src := filepath.Join(work, "study")
	if _, err := synthetic.Write(synthetic.Options{Dir: src, Series: 2, Images: 10, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	uri := filepath.Join(work, "uri.txt")
	sender := exec.Command(filepath.Join(binDir, "sender"), "send", "--uri-file", uri, "--listen", "/ip4/127.0.0.1/tcp/0", src)
	sender.Env = env
	var senderErr bytes.Buffer
	sender.Stderr = &senderErr
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Process.Kill(); sender.Wait() })
	waitForFile(t, uri)

	out := filepath.Join(work, "in")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// Room for the study (10 MiB) when the receiver checks the free
	// space before fetching; the disk then fills while it fetches.
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", out).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, b)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", out).Run() })

	fetch := func(extra ...string) (int, string, string) {
		cmd := exec.Command(filepath.Join(binDir, "receiver"), append([]string{"fetch", "--out", out, "--yes", "--json", "--uri-file", uri}, extra...)...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	// Once the fetch has begun, another program takes all but 1 MiB of
	// the disk.
	filler := filepath.Join(out, "filler")
	filled := make(chan error, 1)
	go func() { filled <- fillOnceFetching(out, filler, 1<<20) }()
	code, _, stderr := fetch("--max-rate", "4MB")
	if err := <-filled; err != nil {
		t.Fatal(err)
	}
	if code != 11 {
		t.Fatalf("disk full: exit %d, want 11\n%s", code, stderr)
	}
	if !strings.Contains(stderr, out) || !strings.Contains(stderr, "no space left") {
		t.Fatalf("the error does not name the folder and the cause:\n%s", stderr)
	}
	// Every file under its own name is whole and right.
	placed := 0
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == ".imageshare" {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && p != filler {
			rel, _ := filepath.Rel(out, p)
			// The unfinished study is in DIR/.incoming/study-….
			inStudy := strings.TrimPrefix(rel, ".incoming"+string(filepath.Separator))
			parts := strings.SplitN(inStudy, string(filepath.Separator), 2)
			want, err := os.ReadFile(filepath.Join(src, parts[1]))
			got, _ := os.ReadFile(p)
			if err != nil || !bytes.Equal(want, got) {
				t.Errorf("%s is under its own name but is not the file sent", rel)
			}
			placed++
		}
		return nil
	})
	t.Logf("%d files were complete when the disk filled", placed)

	// Free space: the same command resumes and completes.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("mount", "-o", "remount,size=64m", out).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, b)
	}
	code, stdout, stderr := fetch()
	if code != 0 {
		t.Fatalf("after freeing space: exit %d\n%s", code, stderr)
	}
	var summary struct {
		Reused int64  `json:"reused_bytes"`
		Files  int    `json:"files"`
		Dir    string `json:"dir"`
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Reused == 0 || summary.Files != 20 {
		t.Fatalf("resume reused %d bytes for %d files; want some reused and 20 files", summary.Reused, summary.Files)
	}
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(src, p)
			want, _ := os.ReadFile(p)
			got, err := os.ReadFile(filepath.Join(summary.Dir, rel))
			if err != nil || !bytes.Equal(want, got) {
				t.Errorf("%s did not arrive intact", rel)
			}
		}
		return nil
	})
}

// fillOnceFetching waits (a minute at most) until a receiver has placed
// two files of a study in out, then writes filler until the disk has only
// leave bytes free.
func fillOnceFetching(out, filler string, leave int64) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if placedFiles(out) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the receiver did not start writing the study")
		}
		time.Sleep(5 * time.Millisecond)
	}
	free, ok := study.FreeBytes(out)
	if !ok {
		return errors.New("cannot tell the free space of " + out)
	}
	f, err := os.Create(filler)
	if err != nil {
		return err
	}
	defer f.Close()
	zeros := make([]byte, 64<<10)
	for n := int64(0); n < int64(free)-leave; n += int64(len(zeros)) {
		if _, err := f.Write(zeros); err != nil {
			return nil // full already: the receiver wrote meanwhile
		}
	}
	return nil
}

// placedFiles counts the files under their own names in out's study
// folders.
func placedFiles(out string) int {
	n := 0
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == ".imageshare" {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && strings.Contains(p, "study-") {
			n++
		}
		return nil
	})
	return n
}

func waitForFile(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", name)
}
