package crypto

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"filippo.io/age"
)

// Labels for key derivation. Changing one changes the protocol version.
const (
	labelAge  = "imageshare/1 age"
	labelAuth = "imageshare/1 auth"
)

// Keys are the keys derived from a card's secret.
type Keys struct {
	// Identity decrypts the study. Only a card holder has it.
	Identity *age.X25519Identity
	// Recipient encrypts the study. The sender uses it while packing and
	// then drops it with the rest of Keys.
	Recipient *age.X25519Recipient
	// Auth signs proofs of possession. Only a card holder has it.
	Auth ed25519.PrivateKey
	// Verifier checks proofs. It is what the sender keeps.
	Verifier ed25519.PublicKey
}

// DeriveKeys derives the study's keys from the card's secret. It takes a
// pointer so that the secret is not copied into argument words, which a
// crash's traceback prints.
func DeriveKeys(s *Secret) (*Keys, error) {
	scalar, err := hkdf.Key(sha256.New, s[:], nil, labelAge, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving age key: %w", err)
	}
	id, err := x25519IdentityFromScalar(scalar)
	if err != nil {
		return nil, err
	}
	seed, err := hkdf.Key(sha256.New, s[:], nil, labelAuth, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("deriving auth key: %w", err)
	}
	auth := ed25519.NewKeyFromSeed(seed)
	return &Keys{
		Identity:  id,
		Recipient: id.Recipient(),
		Auth:      auth,
		Verifier:  auth.Public().(ed25519.PublicKey),
	}, nil
}

// x25519IdentityFromScalar builds an age identity from a raw scalar. age
// exposes no constructor from bytes, so the scalar goes through the
// identity's Bech32 text form, which age parses and checks.
func x25519IdentityFromScalar(scalar []byte) (*age.X25519Identity, error) {
	s, err := bech32Encode("AGE-SECRET-KEY-", scalar)
	if err != nil {
		return nil, fmt.Errorf("encoding age key: %w", err)
	}
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		return nil, fmt.Errorf("building age key: %w", err)
	}
	return id, nil
}
