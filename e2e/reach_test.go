package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/card"
)

// unreachableCard writes a card for a sender that is not there: a fresh
// peer ID at a closed port of 127.0.0.1, expiring at expires.
func unreachableCard(t *testing.T, expires time.Time) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // closed: a dial is refused
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := card.Offer{Expires: expires.Truncate(time.Second)}
	if o.Peer, err = peer.IDFromPublicKey(pub); err != nil {
		t.Fatal(err)
	}
	o.Addrs = []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))}
	rand.Read(o.ID[:])
	rand.Read(o.ManifestHash[:])
	rand.Read(o.Secret[:])
	uri, err := o.URI()
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "card.txt")
	if err := os.WriteFile(name, []byte(uri), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// fetchCard runs receiver fetch on the card file with args, and returns
// its exit status, output and how long it took.
func fetchCard(t *testing.T, cardFile string, args ...string) (int, string, string, time.Duration) {
	t.Helper()
	work := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "receiver"),
		append([]string{"fetch", "--out", filepath.Join(work, "in"), "--yes", "--uri-file", cardFile}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "state"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("receiver fetch %v still running after 2 minutes\n%s", args, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String(), time.Since(start)
}

// A sender that is never reached (its computer off, a wrong card) is
// given up after a few --timeout, not after --retry-for, with exit 4, one
// plain line an attempt, and a message staff can act on; libp2p's detail
// is in --json and --verbose.
func TestNeverReached(t *testing.T) {
	c := unreachableCard(t, time.Now().Add(time.Hour))
	code, _, stderr, took := fetchCard(t, c, "--timeout", "2s", "--retry-for", "10m")
	t.Logf("gave up after %s:\n%s", took.Round(time.Millisecond), stderr)
	if code != 4 {
		t.Errorf("exit %d, want 4", code)
	}
	if took > 45*time.Second {
		t.Errorf("gave up after %s; want a few --timeout (2s), not --retry-for", took)
	}
	for _, want := range []string{
		"the sending computer did not answer at any address on the card",
		"it may be off or its network closed: call the sending hospital",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "dial") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			t.Errorf("libp2p's detail on the terminal without --verbose: %q", line)
		}
	}
	// The detail is there for those who ask.
	_, stdout, _, _ := fetchCard(t, c, "--timeout", "1s", "--json")
	if !strings.Contains(stdout, `"type":"retry"`) || !strings.Contains(stdout, "dial") {
		t.Errorf("--json lacks the retries' detail:\n%s", stdout)
	}
	_, _, stderr, _ = fetchCard(t, c, "--timeout", "1s", "--verbose")
	if !strings.Contains(stderr, "dial") {
		t.Errorf("--verbose lacks libp2p's detail:\n%s", stderr)
	}
}

// A card whose own expiry has passed, whose sender has stopped serving,
// is said to be expired within seconds (exit 6), not retried for
// --retry-for.
func TestExpiredCardNotAnswered(t *testing.T) {
	expired := time.Now().Add(-time.Hour)
	c := unreachableCard(t, expired)
	code, _, stderr, took := fetchCard(t, c, "--retry-for", "10m")
	t.Logf("gave up after %s:\n%s", took.Round(time.Millisecond), stderr)
	if code != 6 {
		t.Errorf("exit %d, want 6", code)
	}
	if took > 20*time.Second {
		t.Errorf("gave up after %s; want seconds", took)
	}
	if !strings.Contains(stderr, "this card expired on "+expired.Truncate(time.Second).Local().Format("2006-01-02 15:04")) ||
		!strings.Contains(stderr, "ask the sending hospital for a new one") {
		t.Errorf("stderr does not say the card expired and what to do")
	}
}
