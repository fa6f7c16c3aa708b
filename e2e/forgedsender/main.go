// Command forgedsender is a hostile sender for the tests: it serves a
// study like sender send, but the manifest's summary, which the receiver
// shows staff, names another patient than the files it serves. Every file
// and chunk matches its hash: only reading the files' headers finds the
// lie. It is built by the e2e tests only.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/internal/streampeer"
	"imageshare/study"
	"imageshare/transfer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "forgedsender:", err)
		os.Exit(1)
	}
}

func run() error {
	var dir, uriFile, listen, patientID, patientName string
	flag.StringVar(&dir, "dir", "", "the study's folder")
	flag.StringVar(&uriFile, "uri-file", "", "where to write the card's text")
	flag.StringVar(&listen, "listen", "/ip4/127.0.0.1/tcp/0", "")
	flag.StringVar(&patientID, "patient-id", "123", "the Patient ID the summary shows")
	flag.StringVar(&patientName, "patient-name", "DOE^JANE", "the Patient's Name the summary shows")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	scan, err := study.ScanPaths(ctx, []string{dir}, study.ScanOptions{})
	if err != nil {
		return err
	}
	studies, err := study.Select(scan, nil, false)
	if err != nil {
		return err
	}
	forged := studies[0].Summary
	forged.PatientID, forged.PatientName = patientID, patientName

	secret, err := icrypto.NewSecret()
	if err != nil {
		return err
	}
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		return err
	}
	var id transfer.OfferID
	rand.Read(id[:])
	work, err := os.MkdirTemp("", "forgedsender-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	packed, err := transfer.Pack(ctx, studies[0].Files, transfer.PackOptions{
		Dir: filepath.Join(work, "offer"), OfferID: id, Recipient: keys.Recipient,
		Created: time.Now(), Expires: time.Now().Add(time.Hour),
		Studies: []study.Summary{forged}, Site: "GENERAL HOSPITAL",
	})
	if err != nil {
		return err
	}
	data, err := os.Open(filepath.Join(packed.Dir, transfer.DataFile))
	if err != nil {
		return err
	}
	defer data.Close()
	h, err := discovery.NewHost(discovery.HostOptions{Listen: []string{listen}})
	if err != nil {
		return err
	}
	defer h.Close()
	srv := &transfer.Server{}
	srv.Add(&transfer.Offer{ID: id, Verifier: keys.Verifier, Expires: packed.Manifest.Expires,
		SealedManifest: packed.SealedManifest, Extents: packed.Extents, Data: data})
	h.SetStreamHandler(transfer.ProtocolID, func(s network.Stream) {
		srv.Handle(ctx, s, streampeer.Of(s))
	})
	offer := &card.Offer{Peer: h.ID(), Addrs: discovery.CardAddrs(h, nil), Secret: secret, ID: id,
		Expires: packed.Manifest.Expires, ManifestHash: packed.ManifestHash}
	uri, err := offer.URI()
	if err != nil {
		return err
	}
	tmp := uriFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(uri+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, uriFile); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
