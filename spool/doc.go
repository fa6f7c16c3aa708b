// Package spool keeps a sender's offers on disk, so that they outlive the
// terminal that made them: each offer's sealed chunks and manifest, and a
// record of what is needed to serve it (expiry, downloads, the key that
// checks proofs). Nothing in the spool decrypts a study.
//
// Layout:
//
//	<spool>/identity.key          the sender's libp2p key (0600)
//	<spool>/serve.lock            held (flock, or LockFileEx) by the process serving the spool
//	<spool>/serving.json          that process's peer ID and addresses
//	<spool>/offers/<id>/offer.json  the Record
//	<spool>/offers/<id>/chunks.dat  sealed chunks (deleted when the offer ends)
//	<spool>/offers/<id>/manifest.age the sealed manifest (deleted likewise)
//	<spool>/offers/<id>/chunks.idx  where each sealed chunk lies in chunks.dat, and its hash (transfer.IndexFile; deleted likewise)
//	<spool>/offers/<id>/revoked     present once revoked
//	<spool>/offers/<id>/locked      present once locked after too many failed proofs (sender unlock removes it)
//	<spool>/offers/<id>/loaded      written by the serving process once it serves the offer
package spool
