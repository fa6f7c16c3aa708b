package synthetic

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
)

// uidLabel separates the hashes of this package from any other.
const uidLabel = "imageshare/synthetic/1"

// deriveUID returns a UID of the form 2.25.<n>, where n is a version 4 UUID,
// read as a 128-bit number, made from the SHA-256 of parts. At most 44
// characters.
func deriveUID(parts ...string) string {
	sum := hashParts(parts...)
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return "2.25." + new(big.Int).SetBytes(u).String()
}

// hashParts hashes parts so that no two lists of parts collide: each part is
// preceded by its length.
func hashParts(parts ...string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(uidLabel))
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
