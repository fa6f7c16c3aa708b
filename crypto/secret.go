package crypto

import (
	"crypto/rand"
	"fmt"
)

// SecretSize is the length of the card's secret in bytes.
const SecretSize = 32

// Secret is the key material on the card. Whoever holds it can fetch and
// decrypt the study. It formats as "[secret]" under every fmt verb, so that it
// cannot reach a log line or an error message by accident.
type Secret [SecretSize]byte

// NewSecret returns a fresh random secret.
func NewSecret() (Secret, error) {
	var s Secret
	if _, err := rand.Read(s[:]); err != nil {
		return Secret{}, fmt.Errorf("generating secret: %w", err)
	}
	return s, nil
}

// Format implements fmt.Formatter: a Secret never prints its bytes.
func (Secret) Format(f fmt.State, verb rune) { f.Write([]byte("[secret]")) }

// String implements fmt.Stringer.
func (Secret) String() string { return "[secret]" }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return "[secret]" }

// MarshalText refuses: a secret is written only into a card URI, on purpose.
func (Secret) MarshalText() ([]byte, error) {
	return nil, fmt.Errorf("refusing to marshal a secret")
}
