package transfer

import (
	"encoding/hex"
	"fmt"
)

// OfferID names one offer on a sender. It is not secret. The card carries
// it; the protocol asks for it by it.
type OfferID [8]byte

func (id OfferID) String() string { return hex.EncodeToString(id[:]) }

// ParseOfferID parses the hexadecimal form printed by OfferID.String.
func ParseOfferID(s string) (OfferID, error) {
	var id OfferID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("offer ID %q is not %d hexadecimal digits", s, 2*len(id))
	}
	copy(id[:], b)
	return id, nil
}

// ManifestHashSize is how many bytes of the sealed manifest's SHA-256 the
// card carries (ManifestHash).
const ManifestHashSize = 16

// OfferRef is what a receiver's side of the protocol needs of a card: which
// offer to ask for, and the hash its sealed manifest must have. The rest of
// the card (where the sender is, the secret) belongs to the connection and
// the keys.
type OfferRef struct {
	ID           OfferID
	ManifestHash [ManifestHashSize]byte
}
