package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/synthetic"
	"imageshare/transfer"
)

// jsonLines is standard output under --json: it keeps each line, and
// hands each to lines as it comes.
type jsonLines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	all   []map[string]any
	lines chan map[string]any
}

func newJSONLines() *jsonLines { return &jsonLines{lines: make(chan map[string]any, 100)} }

func (j *jsonLines) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf.Write(p)
	for {
		line, err := j.buf.ReadBytes('\n')
		if err != nil {
			j.buf.Write(line)
			return len(p), nil
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			j.all = append(j.all, m)
			select {
			case j.lines <- m:
			default:
			}
		}
	}
}

// next waits for the next line of type typ, for as long as the test's
// deadline allows.
func (j *jsonLines) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	var deadline <-chan time.Time
	if d, ok := t.Deadline(); ok {
		deadline = time.After(time.Until(d) - 5*time.Second)
	}
	for {
		select {
		case m := <-j.lines:
			if m["type"] == typ {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s line in %v", typ, j.types())
		}
	}
}

func (j *jsonLines) types() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, m := range j.all {
		out = append(out, m["type"].(string))
	}
	return out
}

// testEnv is a study on disk, a spool and an audit trail of a test's own.
type testEnv struct {
	study, spool, audit string
}

func newEnv(t *testing.T) testEnv {
	t.Helper()
	dir := t.TempDir()
	e := testEnv{study: filepath.Join(dir, "study"), spool: filepath.Join(dir, "spool"), audit: filepath.Join(dir, "audit.jsonl")}
	if _, err := synthetic.Write(synthetic.Options{Dir: e.study, Images: 3, Rows: 32, Columns: 32, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return e
}

// fetchURI fetches the study the card's URI names over libp2p, as a
// receiver does, and confirms receipt.
func fetchURI(t *testing.T, ctx context.Context, uri string) error {
	c, err := card.ParseURI(uri)
	if err != nil {
		return err
	}
	h, err := discovery.NewHost(discovery.HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := discovery.Connect(ctx, h, c.Peer, c.Addrs, 10*time.Second, nil); err != nil {
		return err
	}
	keys, err := icrypto.DeriveKeys(&c.Secret)
	if err != nil {
		return err
	}
	cl := &transfer.Client{
		Open: func(ctx context.Context) (transfer.Stream, error) {
			return h.NewStream(ctx, c.Peer, transfer.ProtocolID)
		},
		Local: string(h.ID()), Remote: string(c.Peer), Offer: c.Ref(), Keys: keys,
	}
	m, err := cl.Manifest(ctx)
	if err != nil {
		return err
	}
	st, err := transfer.OpenStore(filepath.Join(t.TempDir(), "in"), m)
	if err != nil {
		return err
	}
	defer st.Close()
	need := make([]int, len(m.Chunks))
	for i := range need {
		need[i] = i
	}
	if err := cl.Fetch(ctx, m, need, st.Put, nil); err != nil {
		return err
	}
	if err := st.Finish(); err != nil {
		return err
	}
	return cl.Confirm(ctx, len(m.Files), m.TotalSize())
}

// sender send --json, run in process, prints the lines a script reads,
// with their keys, serves until the receipt and exits 0.
func TestSendJSONUntilReceipt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEnv(t)
	stdout := newJSONLines()
	var stderr syncBuffer
	uriFile := filepath.Join(t.TempDir(), "uri.txt")
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"send", "--json", "--site", "St Elsewhere", "--spool", e.spool, "--audit", e.audit,
			"--listen", "/ip4/127.0.0.1/tcp/0", "--uri-file", uriFile, e.study}, nil, stdout, &stderr)
	}()
	offer := stdout.next(t, "offer")
	for _, k := range []string{"offer_id", "uri", "expires", "peer_id", "addrs", "card", "uri_file", "files", "bytes", "stored_bytes", "pack_seconds", "max_downloads"} {
		if _, ok := offer[k]; !ok {
			t.Errorf("the offer line has no %q: %v", k, offer)
		}
	}
	uri, _ := offer["uri"].(string)
	if b, err := os.ReadFile(uriFile); err != nil || strings.TrimSpace(string(b)) != uri {
		t.Errorf("--uri-file holds %q (%v), the offer line %q", b, err, uri)
	}
	if err := fetchURI(t, ctx, uri); err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d\n%s", c, stderr.String())
	}
	types := stdout.types()
	want := []string{"study", "offer", "manifest", "receipt", "done"}
	i := 0
	for _, ty := range types {
		if i < len(want) && ty == want[i] {
			i++
		}
		if ty == "packing" || ty == "sent" || ty == "serving_offer" || ty == "warning" {
			t.Errorf("--json printed a %s line, which is for staff only", ty)
		}
	}
	if i < len(want) {
		t.Errorf("lines %v, want %v in this order", types, want)
	}
	done := stdout.all[len(stdout.all)-1]
	if done["type"] != "done" || done["receipts"] != 1.0 || done["offer_id"] != offer["offer_id"] {
		t.Errorf("last line %v", done)
	}
	for _, s := range []string{"serving offer", "listening on /ip4/127.0.0.1/tcp/", "waiting for the receiving hospital",
		"the receiving hospital opened offer", "the receiving hospital confirmed 3 files", "delivered: offer"} {
		if !strings.Contains(stderr.String(), "sender: "+s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
		}
	}
}

// sender serve takes the offer that a send hands it; list, revoke and
// unlock act on the spool and print their lines.
func TestServeListRevokeUnlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEnv(t)
	serveOut := newJSONLines()
	var serveErr syncBuffer
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan int, 1)
	go func() {
		served <- run(serveCtx, []string{"serve", "--json", "--spool", e.spool, "--audit", e.audit, "--listen", "/ip4/127.0.0.1/tcp/0"}, nil, serveOut, &serveErr)
	}()
	if l := serveOut.next(t, "serving"); l["live_offers"] != 0.0 || l["spool"] != e.spool {
		t.Errorf("serving line %v", l)
	}
	// A second serve is refused.
	var out, errOut bytes.Buffer
	if c := run(ctx, []string{"serve", "--spool", e.spool, "--audit", e.audit, "--listen", "/ip4/127.0.0.1/tcp/0"}, nil, &out, &errOut); c != exitError || !strings.Contains(errOut.String(), "already serves the spool") {
		t.Errorf("second serve: exit %d, %s", c, errOut.String())
	}

	sendOut := newJSONLines()
	var sendErr syncBuffer
	if c := run(ctx, []string{"send", "--json", "--spool", e.spool, "--audit", e.audit, e.study}, nil, sendOut, &sendErr); c != exitOK {
		t.Fatalf("send: exit %d\n%s", c, sendErr.String())
	}
	if !strings.Contains(sendErr.String(), "handed to the sender serving") {
		t.Errorf("send did not hand off:\n%s", sendErr.String())
	}
	id, _ := sendOut.next(t, "offer")["offer_id"].(string)

	list := func() map[string]any {
		t.Helper()
		lines := newJSONLines()
		if c := run(ctx, []string{"list", "--json", "--spool", e.spool}, nil, lines, &errOut); c != exitOK {
			t.Fatalf("list: exit %d", c)
		}
		return lines.next(t, "offer")
	}
	if l := list(); l["offer_id"] != id || l["state"] != "live" || l["files"] != 3.0 {
		t.Errorf("list: %v", l)
	}
	out.Reset()
	if c := run(ctx, []string{"list", "--spool", e.spool}, nil, &out, &errOut); c != exitOK || !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "live") {
		t.Errorf("list: exit %d\n%s", c, out.String())
	}
	for verb, done := range map[string]string{"unlock": "unlocked", "revoke": "revoked"} {
		lines := newJSONLines()
		errOut.Reset()
		if c := run(ctx, []string{verb, "--json", "--spool", e.spool, "--audit", e.audit, id}, nil, lines, &errOut); c != exitOK {
			t.Fatalf("%s: exit %d\n%s", verb, c, errOut.String())
		}
		if l := lines.next(t, done); l["offer_id"] != id {
			t.Errorf("%s: %v", verb, l)
		}
		if !strings.Contains(errOut.String(), "sender: "+done+" offer "+id) {
			t.Errorf("%s said %s", verb, errOut.String())
		}
	}
	if l := list(); l["state"] != "revoked" {
		t.Errorf("after revoke: %v", l)
	}
	if l := serveOut.next(t, "ended"); l["offer_id"] != id || l["state"] != "revoked" {
		t.Errorf("serve's ended line: %v\n%s", l, serveErr.String())
	}
	if c := run(ctx, []string{"revoke", "--spool", e.spool, "--audit", e.audit, "0000000000000000"}, nil, &out, &errOut); c != exitError {
		t.Errorf("revoke of an unknown offer: exit %d", c)
	}
	if c := run(ctx, []string{"revoke", "--spool", e.spool, "nonsense"}, nil, &out, &errOut); c != exitUsage {
		t.Errorf("revoke of a bad ID: exit %d", c)
	}
	stopServe()
	if c := <-served; c != exitOK {
		t.Errorf("serve: exit %d\n%s", c, serveErr.String())
	}
	if !strings.Contains(serveErr.String(), "stopped; offers stay in the spool") {
		t.Errorf("serve's stderr:\n%s", serveErr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the session's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
