package transfer_test

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/transfer"
)

// The manifest vector's card, made and read with the card package, which
// imports transfer and so cannot be imported by transfer's own tests.
func init() {
	transfer.VectorCardURI = func(p peer.ID, s icrypto.Secret, id transfer.OfferID, expires time.Time, hash [transfer.ManifestHashSize]byte, addrs []ma.Multiaddr) (string, error) {
		c := &card.Offer{Peer: p, Secret: s, ID: id, Expires: expires, ManifestHash: hash, Addrs: addrs}
		return c.URI()
	}
	transfer.VectorParseCard = func(uri string) (icrypto.Secret, transfer.OfferRef, error) {
		c, err := card.ParseURI(uri)
		if err != nil {
			return icrypto.Secret{}, transfer.OfferRef{}, err
		}
		return c.Secret, c.Ref(), nil
	}
}
