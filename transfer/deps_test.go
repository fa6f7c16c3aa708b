package transfer

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoLibp2p: the protocol takes a Stream and a Peer, never a libp2p
// type, so that it runs over net.Pipe; libp2p stays at the edge
// (discovery, internal/streampeer). Nothing this package imports, however
// indirectly, may be a libp2p package.
func TestNoLibp2p(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		if strings.Contains(dep, "libp2p") {
			t.Errorf("transfer depends on %s", dep)
		}
	}
}
