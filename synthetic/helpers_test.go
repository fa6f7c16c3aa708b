package synthetic

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"imageshare/internal/testenv"
)

// dcmdump checks that dcmtk's dcmdump reads files without an error or a
// warning.
func dcmdump(t testing.TB, files ...string) {
	t.Helper()
	bin, err := exec.LookPath("dcmdump")
	if err != nil {
		testenv.Missing(t, "dcmdump (dcmtk) is not installed: %v", err)
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
