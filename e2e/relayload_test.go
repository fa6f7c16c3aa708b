package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"imageshare/card"
	"imageshare/e2e/netsim"
)

// TestRelayedLoad is a sender behind a NAT that only a relay gets through,
// under load and under attack: many receivers of another site fetching
// through the relay at once, and a stranger (e2e/cardless) who knows the
// sender's peer ID and the relay's address, both on every card, and holds
// as many relayed connections as it can. On loopback none of this shows:
// libp2p exempts loopback from its per-address limits.
func TestRelayedLoad(t *testing.T) {
	cardless := buildCardless(t)

	t.Run("12 receivers at once", func(t *testing.T) {
		const receivers = 12
		n, inet, snd, rcv := relayOnlySites(t)
		relay := startRelayProcess(t, n.Host("relay", inet))
		study := netStudyOfSize(t, 4<<20)
		s := startRelayedSender(t, snd, study, relay.addrs, receivers)
		results := make([]fetchResult, receivers)
		var wg sync.WaitGroup
		for i := range receivers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = fetchOnce(s.uri, rcv, t.TempDir(), 2*time.Minute)
			}()
		}
		wg.Wait()
		refused := 0
		for i, r := range results {
			if r.err != nil {
				t.Errorf("receiver %d: %v\n%s", i+1, r.err, r.stderr)
				continue
			}
			compareStudy(t, study, r.summary.Dir)
			refused += r.unreachable
			t.Logf("receiver %d: path %s, %d attempts (%d could not reach the sender), %.1f s", i+1, r.summary.Path, r.summary.Attempts, r.unreachable, r.summary.Seconds)
		}
		if refused > 0 {
			t.Errorf("%d attempts of %d receivers could not reach the sender through the relay", refused, receivers)
		}
	})

	t.Run("a card-less client holds circuits", func(t *testing.T) {
		n, inet, snd, rcv := relayOnlySites(t)
		relay := startRelayProcess(t, n.Host("relay", inet))
		stranger := n.Host("stranger", inet)
		study := netStudyOfSize(t, 4<<20)
		s := startRelayedSender(t, snd, study, relay.addrs, 1)

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// More than the relay lets through to one peer (--max-circuits).
		held := runCardless(ctx, t, stranger, cardless, "-relay", relay.addrs[0], "-peer", s.peer, "-hold", "80", "-for", "3m")
		first := <-held
		if first["type"] != "holding" {
			t.Fatalf("the stranger ended before it held anything: %v", first)
		}
		t.Logf("the stranger holds %v relayed connections to the sender (as it counts them)", first["open"])
		r := fetchOnce(s.uri, rcv, t.TempDir(), 90*time.Second)
		cancel()
		if r.err != nil {
			t.Fatalf("the card holder's fetch failed while the stranger held circuits: %v\n%s", r.err, r.stderr)
		}
		compareStudy(t, study, r.summary.Dir)
		t.Logf("the card holder fetched in %.1f s, %d attempts", r.summary.Seconds, r.summary.Attempts)
		if done := <-held; done["type"] == "done" {
			t.Logf("the stranger dialled %v times, was accepted %v times and dropped %v times, held %v at most", done["dials"], done["accepted"], done["dropped"], done["max_open"])
		}
	})

	t.Run("new relayed connections a minute", func(t *testing.T) {
		n, inet, snd, _ := relayOnlySites(t)
		relay := startRelayProcess(t, n.Host("relay", inet))
		stranger := n.Host("stranger", inet)
		s := startRelayedSender(t, snd, netStudyOfSize(t, 1<<20), relay.addrs, 1)
		done := <-runCardless(t.Context(), t, stranger, cardless, "-relay", relay.addrs[0], "-peer", s.peer, "-churn", "-for", "1m")
		if done["type"] != "done" {
			t.Fatalf("the stranger failed: %v", done)
		}
		t.Logf("in a minute, the sender accepted %v of %v new relayed connections", done["accepted"], done["dials"])
		// A sender that serves a hospital network: one new receiver a
		// second through one relay, at least.
		if accepted, _ := done["accepted"].(float64); accepted < 60 {
			t.Errorf("the sender accepted %v new relayed connections in a minute, want at least 60", accepted)
		}
	})
}

// compareStudy fails unless the study under got is the one under want,
// byte for byte; got also holds the receiver's own .imageshare folder.
func compareStudy(t *testing.T, want, got string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", "-x", ".imageshare", want, got).CombinedOutput()
	if err != nil {
		t.Errorf("the received study differs from the one sent: %v\n%s", err, out)
	}
}

// buildCardless builds e2e/cardless and returns its path.
func buildCardless(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cardless")
	if out, err := exec.Command("go", "build", "-o", bin, "imageshare/e2e/cardless").CombinedOutput(); err != nil {
		t.Fatalf("building e2e/cardless: %v\n%s", err, out)
	}
	return bin
}

// relayedSender is a running `sender send`.
type relayedSender struct {
	uri  string // the file holding the card's URI
	peer string // the sender's peer ID
}

// startRelayedSender sends study from h through relays, for downloads
// receivers, and waits for the card.
func startRelayedSender(t *testing.T, h *netsim.Host, study string, relays []string, downloads int) relayedSender {
	t.Helper()
	work := t.TempDir()
	uri := filepath.Join(work, "uri.txt")
	args := []string{"send", "--json", "--quiet", "--site", "netsim", "--uri-file", uri,
		"--listen", "/ip4/0.0.0.0/tcp/7471", "--listen", "/ip4/0.0.0.0/udp/7471/quic-v1"}
	if downloads > 1 {
		// The first verified receipt ends an offer unless --keep. The
		// sender also counts every chunk sent once more as a download,
		// and receivers fetching at once may ask for a chunk twice (a
		// stream abandoned and asked again): room for those.
		args = append(args, "--keep", "--max-downloads", fmt.Sprint(2*downloads))
	}
	for _, r := range relays {
		args = append(args, "--relay", r)
	}
	cmd := h.Command(context.Background(), filepath.Join(binDir, "sender"), append(args, study)...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "state"))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() || os.Getenv("IMAGESHARE_NETDEBUG") != "" {
			t.Logf("sender's stderr:\n%s", stderr.String())
		}
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(time.Minute)
	for {
		if b, err := os.ReadFile(uri); err == nil && len(b) > 0 {
			o, err := card.ParseURI(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("the sender's card: %v", err)
			}
			return relayedSender{uri: uri, peer: o.Peer.String()}
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the sender ended before it printed the card: %v\n%s", err, stderr.String())
		case <-timeout:
			t.Fatalf("no card within a minute\n%s", stderr.String())
		case <-tick.C:
		}
	}
}

// fetchResult is what one `receiver fetch` did.
type fetchResult struct {
	summary     summary
	unreachable int // attempts that could not reach the sender
	err         error
	stderr      string
}

// fetchOnce runs `receiver fetch` on h for the card in uri, into work,
// retrying for retryFor. It may run beside others on the same host.
func fetchOnce(uri string, h *netsim.Host, work string, retryFor time.Duration) fetchResult {
	ctx, cancel := context.WithTimeout(context.Background(), retryFor+time.Minute)
	defer cancel()
	cmd := h.Command(ctx, filepath.Join(binDir, "receiver"), "fetch", "--json", "--quiet", "--yes",
		"--timeout", "20s", "--retry-for", retryFor.String(), "--out", filepath.Join(work, "in"), "--uri-file", uri)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "state"))
	var res fetchResult
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fetchResult{err: err}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fetchResult{err: err}
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var line struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch {
		case line.Type == "summary":
			json.Unmarshal(sc.Bytes(), &res.summary)
		case line.Type == "retry" && strings.Contains(line.Message, "cannot reach the sender"):
			res.unreachable++
		}
	}
	res.err = cmd.Wait()
	res.stderr = stderr.String()
	if res.err == nil && res.summary.Dir == "" {
		res.err = fmt.Errorf("no summary")
	}
	return res
}

// runCardless runs e2e/cardless on h with args; ctx's end interrupts it.
// The channel gets each JSON line it prints, then a line of type "error"
// if it failed, and is closed when it has ended.
func runCardless(ctx context.Context, t *testing.T, h *netsim.Host, bin string, args ...string) <-chan map[string]any {
	t.Helper()
	cmd := h.Command(ctx, bin, args...)
	// Interrupted, it prints its counts before it ends.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 4)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				lines <- line
			}
		}
		if err := cmd.Wait(); err != nil {
			lines <- map[string]any{"type": "error", "error": fmt.Sprintf("%v\n%s", err, stderr.String())}
		}
	}()
	return lines
}
