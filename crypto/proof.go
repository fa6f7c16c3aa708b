package crypto

import (
	"crypto/ed25519"
	"encoding/binary"
)

// ProofSize is the length of a proof of possession.
const ProofSize = ed25519.SignatureSize

const proofContext = "imageshare/1 proof"

// proofMessage binds a proof to one offer and one libp2p connection: the
// sender's and the receiver's peer IDs, as raw multihash bytes.
func proofMessage(offerID []byte, sender, receiver string) []byte {
	var m []byte
	m = append(m, proofContext...)
	m = append(m, 0)
	for _, part := range [][]byte{offerID, []byte(sender), []byte(receiver)} {
		m = binary.BigEndian.AppendUint16(m, uint16(len(part)))
		m = append(m, part...)
	}
	return m
}

// Prove returns the receiver's proof that it holds the card for offerID, for
// the connection between sender and receiver (raw peer ID bytes).
func Prove(auth ed25519.PrivateKey, offerID []byte, sender, receiver string) []byte {
	return ed25519.Sign(auth, proofMessage(offerID, sender, receiver))
}

// VerifyProof reports whether proof was made by the holder of the card for
// offerID, on the connection between sender and receiver.
func VerifyProof(verifier ed25519.PublicKey, offerID []byte, sender, receiver string, proof []byte) bool {
	if len(verifier) != ed25519.PublicKeySize || len(proof) != ProofSize {
		return false
	}
	return ed25519.Verify(verifier, proofMessage(offerID, sender, receiver), proof)
}
