package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/internal/streampeer"
	"imageshare/study"
	"imageshare/synthetic"
	"imageshare/transfer"
)

// TestInProcessOverLibp2p runs the whole pipeline in one process, without
// the commands: scan, pack, serve on a libp2p host, connect from another,
// fetch, verify, write — over TCP and over QUIC on loopback.
func TestInProcessOverLibp2p(t *testing.T) {
	src := t.TempDir()
	if _, err := synthetic.Write(synthetic.Options{Dir: src, Series: 2, Images: 8, Rows: 256, Columns: 256, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	scan, err := study.ScanPaths(context.Background(), []string{src}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	studies, err := study.Select(scan, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, listen := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"} {
		t.Run(listen, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
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
				Studies: []study.Summary{studies[0].Summary}, ChunkSize: 64 << 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.Open(filepath.Join(packed.Dir, transfer.DataFile))
			if err != nil {
				t.Fatal(err)
			}
			defer data.Close()

			sender, err := discovery.NewHost(discovery.HostOptions{Listen: []string{listen}})
			if err != nil {
				t.Fatal(err)
			}
			defer sender.Close()
			srv := &transfer.Server{}
			srv.Add(&transfer.Offer{ID: id, Verifier: keys.Verifier, Expires: packed.Manifest.Expires,
				SealedManifest: packed.SealedManifest, Extents: packed.Extents, Data: data})
			sender.SetStreamHandler(transfer.ProtocolID, func(s network.Stream) {
				srv.Handle(ctx, s, streampeer.Of(s))
			})

			offer := &card.Offer{Peer: sender.ID(), Addrs: discovery.CardAddrs(sender, nil), Secret: secret, ID: id,
				Expires: packed.Manifest.Expires, ManifestHash: packed.ManifestHash}
			uri, err := offer.URI()
			if err != nil {
				t.Fatal(err)
			}
			got, err := card.ParseURI(uri)
			if err != nil {
				t.Fatal(err)
			}

			receiver, err := discovery.NewHost(discovery.HostOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer receiver.Close()
			if _, err := discovery.Connect(ctx, receiver, got.Peer, got.Addrs, 10*time.Second, nil); err != nil {
				t.Fatal(err)
			}
			rkeys, _ := icrypto.DeriveKeys(&got.Secret)
			c := &transfer.Client{
				Open: func(ctx context.Context) (transfer.Stream, error) {
					return receiver.NewStream(ctx, got.Peer, transfer.ProtocolID)
				},
				Local: string(receiver.ID()), Remote: string(got.Peer), Offer: got.Ref(), Keys: rkeys,
			}
			m, err := c.Manifest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "in")
			store, err := transfer.OpenStore(dir, m)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			need := make([]int, len(m.Chunks))
			for i := range need {
				need[i] = i
			}
			if err := c.Fetch(ctx, m, need, store.Put, nil); err != nil {
				t.Fatal(err)
			}
			if err := store.Finish(); err != nil {
				t.Fatal(err)
			}
			for _, f := range studies[0].Files {
				want, _ := os.ReadFile(f.Path)
				have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Rel)))
				if err != nil || !bytes.Equal(want, have) {
					t.Fatalf("%s: not received intact (%v)", f.Rel, err)
				}
			}
			if err := c.Confirm(ctx, len(m.Files), m.TotalSize()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
