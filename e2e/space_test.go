package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"imageshare/internal/testenv"
	"imageshare/synthetic"
)

// TestNotEnoughSpace: a study bigger than the free space of --out (a
// small tmpfs) is refused before anything is fetched, with exit 11 and
// the figures, and no study folder is made.
func TestNotEnoughSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "mounting a small tmpfs needs root; CI runs this test as root")
	}
	work := t.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "state"))
	src := filepath.Join(work, "study")
	if _, err := synthetic.Write(synthetic.Options{Dir: src, Series: 2, Images: 10, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	uri := filepath.Join(work, "uri.txt")
	sender := exec.Command(filepath.Join(binDir, "sender"), "send", "--uri-file", uri, "--listen", "/ip4/127.0.0.1/tcp/0", src)
	sender.Env = env
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Process.Kill(); sender.Wait() })
	waitForFile(t, uri)

	out := filepath.Join(work, "in")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", out).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, b)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", out).Run() })

	start := time.Now()
	cmd := exec.Command(filepath.Join(binDir, "receiver"), "fetch", "--out", out, "--yes", "--uri-file", uri)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 11 {
		t.Fatalf("exit %d, want 11\n%s", code, stderr.String())
	}
	figures := regexp.MustCompile(`the study needs 10\.\d MiB and the disk that holds ` + regexp.QuoteMeta(out) + ` has [34]\.\d MiB free`)
	if !figures.Match(stderr.Bytes()) {
		t.Errorf("the error does not give the figures:\n%s", stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("%s holds %d entries, want none", out, len(entries))
	}
	t.Logf("refused in %s", time.Since(start).Round(time.Millisecond))
}
