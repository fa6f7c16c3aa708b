// Command samplecard draws the sample card that make dist puts in every
// release archive: a card as sender send prints it, for staff and IT to see
// and to try a scanner on, that opens nothing.
//
//	go run ./scripts/samplecard -o sample-card.png
//
// It is the sender's own drawing (card.WritePNG) of a card for an offer
// that does not exist: a fixed, public secret and peer key (so every run
// writes the same bytes), a sender at 192.0.2.10, an address reserved for
// documentation (RFC 5737) that no computer answers, and an expiry in
// 2000, so that a receiver that reads it says the card expired. The
// patient, site and study lines say it is a sample.
package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/transfer"
)

const usage = `samplecard draws the release archives' sample card: a real card's layout
for an offer that does not exist, which opens nothing.

Usage:
    go run ./scripts/samplecard -o FILE.png

The same source gives the same bytes: the secret, the sender's key and the
expiry (2000-01-01) are fixed, and the sender's address (192.0.2.10) is one
reserved for documentation.

EXIT STATUS
    0 written, 1 failed, 2 bad usage
`

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("samplecard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	out := fs.String("o", "", "the PNG to write")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	png, err := sampleCard()
	if err == nil {
		err = os.WriteFile(*out, png, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "samplecard: error: %v\n", err)
		return 1
	}
	return 0
}

// sampleCard returns the sample card's PNG, having read it back as its URI.
func sampleCard() ([]byte, error) {
	uri, err := sampleOffer().URI()
	if err != nil {
		return nil, err
	}
	d := card.Details{
		Site:        "SAMPLE CARD - not a real offer",
		PatientName: "SAMPLE^CARD",
		StudyDate:   "20000101",
		Description: "Sample card: it opens nothing",
		Expires:     time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	var buf bytes.Buffer
	if err := card.WritePNG(&buf, uri, d); err != nil {
		return nil, err
	}
	if got, err := card.DecodeImage(bytes.NewReader(buf.Bytes())); err != nil || got != uri {
		return nil, fmt.Errorf("the sample card does not read back as its URI (%v)", err)
	}
	return buf.Bytes(), nil
}

// sampleOffer is the offer the sample card is for: no sender has it.
func sampleOffer() *card.Offer {
	var seed [ed25519.SeedSize]byte
	copy(seed[:], "imageshare sample card: no offer")
	key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err) // a 64-byte Ed25519 key always unmarshals
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		panic(err)
	}
	var secret icrypto.Secret
	copy(secret[:], "SAMPLE CARD - THIS OPENS NOTHING")
	var offerID transfer.OfferID
	copy(offerID[:], "SAMPLE!!")
	return &card.Offer{
		Peer: id,
		Addrs: []ma.Multiaddr{
			ma.StringCast("/ip4/192.0.2.10/tcp/7471"),
			ma.StringCast("/ip4/192.0.2.10/udp/7471/quic-v1"),
		},
		Secret:  secret,
		ID:      offerID,
		Expires: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}
