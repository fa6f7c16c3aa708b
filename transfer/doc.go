// Package transfer packs a study into sealed chunks on the sender, serves
// them to card holders, and fetches, verifies and writes them on the
// receiver. It speaks the imageshare transfer protocol over any stream;
// libp2p stays at the edge (see the discovery package and the commands).
//
// Packing lays the files end to end in manifest order and cuts that stream
// into chunks of chunk_size bytes (the last may be shorter). Each chunk is
// compressed with zstd when that saves at least 3%, then sealed with age to
// the recipient derived from the card's secret. The manifest (JSON, zstd,
// sealed the same way) lists every file's name, size and BLAKE3 hash, and every
// chunk's size, codec, and the BLAKE3 hash of its plaintext and of its
// sealed bytes. The card carries the first 16 bytes of the sealed manifest's
// SHA-256.
//
// Every stream carries frames:
//
//	frame   = type:u8 length:u32be payload[length]
//
// A receiver opens a stream with protocol /imageshare/transfer/1.0.0 and
// sends HELLO first, then requests; the sender answers each request in
// order, or sends ERROR and closes the stream:
//
//	HELLO        0x01  offer_id[8] proof[64]
//	GET_MANIFEST 0x02  (empty)                 -> MANIFEST 0x81 sealed_manifest
//	GET_CHUNK    0x03  index:u32be             -> CHUNK    0x82 index:u32be sealed_chunk
//	RECEIPT      0x04  status:u8=0 files:u32be bytes:u64be -> RECEIPT_ACK 0x83 (empty)
//	ERROR        0xff  code:u16be message[utf-8, at most 512 bytes]
//
// The proof is an Ed25519 signature, by the key derived from the card,
// over the offer ID and the two peer IDs of the connection (see package
// crypto): it cannot be replayed on another connection. A receiver may
// send many GET_CHUNK requests before reading the answers, and may fetch
// on several streams at once. docs/PROTOCOL.md is the full specification.
package transfer
