// Package crypto holds imageshare's keys: the card's secret, the keys derived
// from it, the proof of possession a receiver presents, and sealing of chunks
// and manifests with age.
//
// The card carries one 32-byte secret. Every key is derived from it with
// HKDF-SHA-256 under its own label, so that no key can be computed from
// another:
//
//	age   = HKDF(secret, salt="", info="imageshare/1 age")   -> X25519 scalar
//	auth  = HKDF(secret, salt="", info="imageshare/1 auth")  -> Ed25519 seed
//
// The sender encrypts with the age recipient (the public half of "age") and
// keeps only the Ed25519 public key of "auth", with which it checks proofs.
// Neither lets it decrypt the study once the card has been issued.
//
// Callers import it under another name, as it shadows the standard library:
//
//	import icrypto "imageshare/crypto"
package crypto
