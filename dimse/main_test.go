package dimse

import (
	"os"
	"testing"

	"imageshare/internal/testenv"
)

// peerNetEnv names the network namespace the tests run in, once
// TestMain has moved them there.
const peerNetEnv = "IMAGESHARE_DIMSE_NETNS"

// TestMain runs the package's tests in a network namespace of their own
// that has only loopback, where it can (Linux, as root): dcmtk's storescp
// and dcmqrscp listen on every interface whatever they are told, so on the
// machine's own network they would be reachable from outside it. There,
// nothing outside the namespace can reach them, nor they anything.
func TestMain(m *testing.M) {
	if code, moved := runInPeerNet(); moved {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// requirePeerNet is called by the tests that start a dcmtk server: they
// run only inside the tests' network namespace (skipped by hand without
// root, failed under CI).
func requirePeerNet(t *testing.T) {
	t.Helper()
	if os.Getenv(peerNetEnv) == "" {
		testenv.Missing(t, "dcmtk's servers listen on every interface: this test runs them in a network namespace with only loopback, which needs Linux and root")
	}
}
