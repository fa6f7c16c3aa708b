package transfer

import (
	"encoding/hex"
	"fmt"
)

// HashSize is the size of a BLAKE3 hash as the manifest holds it.
const HashSize = 32

// Hash is a BLAKE3-256 hash of a file or a chunk. It travels in the
// manifest's JSON as 64 lowercase hex digits, and is compared as bytes.
// The zero Hash stands for a hash the manifest did not give.
type Hash [HashSize]byte

// String returns h as lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	b := make([]byte, hex.EncodedLen(HashSize))
	hex.Encode(b, h[:])
	return b, nil
}

// UnmarshalText decodes 64 lowercase hex digits: a hash has one spelling,
// so that a manifest has one encoding.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != hex.EncodedLen(HashSize) {
		return fmt.Errorf("hash of %d hex digits, want %d", len(b), hex.EncodedLen(HashSize))
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("hash is not lowercase hex")
		}
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == Hash{} }
