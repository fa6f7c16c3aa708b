package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/internal/streampeer"
	"imageshare/receive"
	"imageshare/study"
	"imageshare/synthetic"
	"imageshare/transfer"
)

// fetchServe serves a synthetic study in this process, on loopback, and
// returns its card's text.
func fetchServe(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	if _, err := synthetic.Write(synthetic.Options{Dir: src, Series: 2, Images: 2, Rows: 32, Columns: 32, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	scan, err := study.ScanPaths(ctx, []string{src}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	studies, err := study.Select(scan, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := icrypto.NewSecret()
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		t.Fatal(err)
	}
	var id transfer.OfferID
	rand.Read(id[:])
	packed, err := transfer.Pack(ctx, studies[0].Files, transfer.PackOptions{
		Dir: filepath.Join(t.TempDir(), "offer"), OfferID: id, Recipient: keys.Recipient,
		Created: time.Now(), Expires: time.Now().Add(time.Hour),
		Studies: []study.Summary{studies[0].Summary}, ChunkSize: 8 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.Open(filepath.Join(packed.Dir, transfer.DataFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	h, err := discovery.NewHost(discovery.HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := &transfer.Server{}
	srv.Add(&transfer.Offer{ID: id, Verifier: keys.Verifier, Expires: packed.Manifest.Expires,
		SealedManifest: packed.SealedManifest, Extents: packed.Extents, Data: data})
	h.SetStreamHandler(transfer.ProtocolID, func(s network.Stream) { srv.Handle(ctx, s, streampeer.Of(s)) })
	offer := &card.Offer{Peer: h.ID(), Addrs: discovery.CardAddrs(h, nil), Secret: secret, ID: id,
		Expires: packed.Manifest.Expires, ManifestHash: packed.ManifestHash}
	uri, err := offer.URI()
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

// receiver fetch --json, in process: the staff's lines on stderr, the
// JSON lines on stdout ending with the summary, the study and its record
// in place.
func TestFetchCommand(t *testing.T) {
	uri := fetchServe(t)
	work := t.TempDir()
	out := filepath.Join(work, "in")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"fetch", "--out", out, "--yes", "--json", "--audit", filepath.Join(work, "audit.jsonl"), "-"},
		strings.NewReader(uri+"\n"), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var types []string
	var summary struct {
		Dir      string `json:"dir"`
		Files    int    `json:"files"`
		Verified bool   `json:"verified"`
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var e struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		types = append(types, e.Type)
		if e.Type == "summary" {
			json.Unmarshal(sc.Bytes(), &summary)
		}
	}
	if got, want := strings.Join(types, " "), "card connected manifest series_complete series_complete summary"; got != want {
		t.Errorf("JSON lines %s, want %s", got, want)
	}
	if !summary.Verified || summary.Files != 4 || filepath.Dir(summary.Dir) != out {
		t.Errorf("summary %+v", summary)
	}
	if _, err := os.Stat(filepath.Join(summary.Dir, filepath.FromSlash(receive.RecordName))); err != nil {
		t.Errorf("no record: %v", err)
	}
	for _, s := range []string{"receiver: connecting to ", "Transfer:     ", "receiver: series 1 (", "receiver: 4 files (", "receiver: study saved in " + summary.Dir} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
		}
	}
}
